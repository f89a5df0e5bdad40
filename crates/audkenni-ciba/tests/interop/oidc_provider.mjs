// A CIBA provider in poll mode built on the certified npm package
// oidc-provider, for tests/oidc_provider_interop.rs. Listens with HTTPS on
// 127.0.0.1 (the test's localhost certificate), prints {"issuer": ...} on
// stdout, and approves every request for login hint "7700001" after 1 s.
//
// Environment: TLS_KEY, TLS_CERT (PEM paths), RP_KEY (the relying party's
// private key PEM path; its public JWK is registered), CLIENT_SECRET.
import https from 'node:https';
import fs from 'node:fs';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const { TLS_KEY, TLS_CERT, RP_KEY, CLIENT_SECRET } = process.env;
const server = https.createServer({ key: fs.readFileSync(TLS_KEY), cert: fs.readFileSync(TLS_CERT) });
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `https://localhost:${server.address().port}`;

const rpJwk = crypto.createPublicKey(fs.readFileSync(RP_KEY)).export({ format: 'jwk' });
const accounts = { '7700001': { name: 'Gervimaður Interop' } };

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'interop-client',
    client_secret: CLIENT_SECRET,
    grant_types: ['urn:openid:params:grant-type:ciba'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    backchannel_token_delivery_mode: 'poll',
    backchannel_authentication_request_signing_alg: 'RS256',
    request_object_signing_alg: 'RS256',
    jwks: { keys: [{ ...rpJwk, use: 'sig', alg: 'RS256' }] },
  }],
  scopes: ['openid', 'profile', 'signature'],
  claims: { openid: ['sub'], profile: ['name'] },
  acrValues: ['sim-auth'],
  findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, name: accounts[id].name }; } };
  },
  features: {
    devInteractions: { enabled: false },
    requestObjects: { enabled: true, requireSignedRequestObject: true },
    ciba: {
      enabled: true,
      deliveryModes: ['poll'],
      async processLoginHint(ctx, loginHint) {
        if (accounts[loginHint]) return loginHint;
        throw new errors.UnknownUserId('mssp_105: no such user');
      },
      async verifyUserCode() {},
      async validateBindingMessage() {},
      async validateRequestContext() {},
      async triggerAuthenticationDevice(ctx, request, account, client) {
        setTimeout(async () => {
          const grant = new provider.Grant({ clientId: client.clientId, accountId: account.accountId });
          grant.addOIDCScope('openid profile');
          await grant.save();
          await provider.backchannelResult(request, grant);
        }, 1000);
      },
    },
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
server.on('request', provider.callback());
console.log(JSON.stringify({ issuer }));
