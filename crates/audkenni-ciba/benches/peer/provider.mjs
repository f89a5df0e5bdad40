// The CIBA provider of the vs_openid_client bench: the npm package
// oidc-provider in poll mode over HTTPS on 127.0.0.1 (see README.md).
//
// Every request for login hint LOGIN_HINT is approved when its first token
// request (poll) has been answered `authorization_pending`, before that
// answer is sent: so each flow is exactly one bc-authorize, one pending
// poll and one token answer, whatever the timing of the client.
// GET /bench-stats answers the counts, for the bench to check that both
// clients ran exactly that flow.
//
// Environment: TLS_KEY, TLS_CERT (PEM paths), RP_KEY (the relying party's
// private key, PEM; its public JWK is registered), CLIENT_ID,
// CLIENT_SECRET, LOGIN_HINT, INTERVAL (seconds, announced in the
// bc-authorize answer). Prints {"issuer": ...} on stdout when listening.
import https from 'node:https';
import fs from 'node:fs';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const { TLS_KEY, TLS_CERT, RP_KEY, CLIENT_ID, CLIENT_SECRET, LOGIN_HINT } = process.env;
const INTERVAL = Number(process.env.INTERVAL ?? '1');

const server = https.createServer({
  key: fs.readFileSync(TLS_KEY),
  cert: fs.readFileSync(TLS_CERT),
  // Both clients keep their connections between rounds (the other client's
  // round runs in between): Node's default of 5 s would close them.
  keepAliveTimeout: 300_000,
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `https://127.0.0.1:${server.address().port}`;

const rpJwk = crypto.createPublicKey(fs.readFileSync(RP_KEY)).export({ format: 'jwk' });
// The provider's id_token signing key, made at start.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-1', use: 'sig', alg: 'RS256' };

const stats = { started: 0, pending: 0, issued: 0, other: 0 };
const waiting = new Map();

const provider = new Provider(issuer, {
  jwks: { keys: [signingJwk] },
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['urn:openid:params:grant-type:ciba'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    backchannel_token_delivery_mode: 'poll',
    backchannel_authentication_request_signing_alg: 'RS256',
    request_object_signing_alg: 'RS256',
    id_token_signed_response_alg: 'RS256',
    jwks: { keys: [{ ...rpJwk, use: 'sig', alg: 'RS256' }] },
  }],
  scopes: ['openid', 'profile', 'signature'],
  claims: { openid: ['sub'], profile: ['name'] },
  acrValues: ['sim-auth'],
  findAccount(ctx, id) {
    if (id !== LOGIN_HINT) return undefined;
    return { accountId: id, async claims() { return { sub: id, name: 'Gervimaður Bench' }; } };
  },
  features: {
    devInteractions: { enabled: false },
    requestObjects: { enabled: true, requireSignedRequestObject: true },
    ciba: {
      enabled: true,
      deliveryModes: ['poll'],
      async processLoginHint(ctx, loginHint) {
        return loginHint;
      },
      async verifyUserCode() {},
      async validateBindingMessage() {},
      async validateRequestContext() {},
      async triggerAuthenticationDevice(ctx, request, account, client) {
        waiting.set(request.jti, { request, accountId: account.accountId, clientId: client.clientId });
      },
    },
  },
});

async function approve({ request, accountId, clientId }) {
  const grant = new provider.Grant({ clientId, accountId });
  grant.addOIDCScope('openid profile signature');
  await grant.save();
  await provider.backchannelResult(request, grant);
}

provider.use(async (ctx, next) => {
  await next();
  const route = ctx.oidc?.route;
  if (route === 'backchannel_authentication' && ctx.status === 200 && ctx.body?.auth_req_id) {
    // oidc-provider announces no interval (clients then wait 5 s): the
    // bench's provider announces INTERVAL, the same for both clients.
    ctx.body = { ...ctx.body, interval: INTERVAL };
    stats.started += 1;
  } else if (route === 'token') {
    const error = ctx.body?.error;
    if (error === 'authorization_pending') {
      stats.pending += 1;
      const id = ctx.oidc.params?.auth_req_id;
      const entry = waiting.get(id);
      if (entry) {
        waiting.delete(id);
        await approve(entry);
      }
    } else if (ctx.status === 200 && ctx.body?.id_token) {
      stats.issued += 1;
    } else {
      stats.other += 1;
    }
  } else if (ctx.status >= 400) {
    stats.other += 1;
  }
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url === '/bench-stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
    return;
  }
  callback(req, res);
});
console.log(JSON.stringify({ issuer }));
