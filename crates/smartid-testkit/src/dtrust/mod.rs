//! D-Trust-like certificate service over REST and SOAP (filled by the dtrust-client work).
