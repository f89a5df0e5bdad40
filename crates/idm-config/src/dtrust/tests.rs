use super::*;
use crate::diagnostic::Code;

#[test]
fn written_config_reads_back_the_same() {
    let text = "url=https://d/rest\nnamespaceURI=http://ns/\nlocalPart=Svc\np12File=c.p12\np12Password=pw=1\nserverCertificate=s.cer\nproxyHost=p\nproxyPort=8080\nkeyArchive=Key archive\ntokenProcedure.Advanced\\ SSL\\ ID\\ (RSA)=Imp\ncertificateTemplates=A|CN=x\\\\, y,E=a@example.com|email:b@example.com;B\n";
    let file = PropertiesFile::parse(text.as_bytes(), "d.properties");
    let c = DtrustConnectorConfig::from_properties(&file, &CheckOptions::default());
    assert_eq!(
        c.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
        [Code::SoapDeprecated]
    );
    let written = c.value.to_properties("d.properties");
    let again = DtrustConnectorConfig::from_properties(&written, &CheckOptions::default()).value;
    assert_eq!(again.soap_service, c.value.soap_service);
    assert_eq!(again.transport(), c.value.transport());
    assert_eq!(again.p12_password, c.value.p12_password);
    assert_eq!(
        again.token_procedures,
        [("Advanced SSL ID (RSA)".to_owned(), "Imp".to_owned())]
    );
    assert_eq!(again.certificate_templates, c.value.certificate_templates);
    assert_eq!(again.proxy, c.value.proxy);
    assert!(!format!("{again:?}").contains("pw=1"));
}
