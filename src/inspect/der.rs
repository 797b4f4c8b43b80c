//! Private keys stored in binary (DER) form: `openssl rsa -outform DER`, Java's and .NET's key
//! exports, PKCS #12 key stores under any name. Their bytes hold no PEM header for a content
//! rule to find, so the structure itself is read: a whole file that is one ASN.1 SEQUENCE whose
//! first fields are a private key's.

/// What kind of private key `prefix` (the first bytes of a file of `length` bytes) begins, if
/// the whole file is one.
pub fn private_key(prefix: &[u8], length: u64) -> Option<&'static str> {
    let (header, content_length) = sequence_header(prefix)?;
    // The outer SEQUENCE is the whole file: a key file, not a prefix that happens to match.
    if (header + content_length) as u64 != length {
        return None;
    }
    let body = &prefix[header..];
    const RSA: &[u8] = &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    const EC: &[u8] = &[0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
    const PKCS5_PBES2: &[u8] = &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D];
    const PKCS12_PBE: &[u8] = &[0x06, 0x0A, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x01];
    const PKCS7_DATA: &[u8] = &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01];
    match body {
        // RSAPrivateKey (PKCS #1): version 0, then the modulus.
        [0x02, 0x01, 0x00, 0x02, 0x81 | 0x82, ..] => Some("an RSA private key (PKCS #1, DER)"),
        // PrivateKeyInfo (PKCS #8, v1 or v2): version, then the algorithm; an Ed25519 or X25519
        // key's algorithm has no parameters.
        [0x02, 0x01, 0x00 | 0x01, 0x30, rest @ ..]
            if starts_within(rest, &[RSA, EC, &[0x06, 0x03, 0x2B, 0x65]]) =>
        {
            Some("a private key (PKCS #8, DER)")
        }
        // ECPrivateKey (SEC 1): version 1, then the key as an OCTET STRING.
        [0x02, 0x01, 0x01, 0x04, 0x20 | 0x30 | 0x42, ..] => Some("an EC private key (SEC 1, DER)"),
        // EncryptedPrivateKeyInfo (PKCS #8): the encryption algorithm first.
        [0x30, rest @ ..] if starts_within(rest, &[PKCS5_PBES2, PKCS12_PBE]) => {
            Some("an encrypted private key (PKCS #8, DER)")
        }
        // PFX (PKCS #12): version 3, then the authenticated safe as PKCS #7 data.
        [0x02, 0x01, 0x03, 0x30, rest @ ..] if starts_within(rest, &[PKCS7_DATA]) => {
            Some("a PKCS #12 key store")
        }
        _ => None,
    }
}

/// A SEQUENCE's header length and content length, in definite form.
fn sequence_header(bytes: &[u8]) -> Option<(usize, usize)> {
    match bytes {
        [0x30, short @ 0..=0x7F, ..] => Some((2, usize::from(*short))),
        [0x30, 0x81, len, ..] => Some((3, usize::from(*len))),
        [0x30, 0x82, high, low, ..] => Some((4, usize::from(*high) << 8 | usize::from(*low))),
        [0x30, 0x83, a, b, c, ..] => {
            Some((5, usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c)))
        }
        _ => None,
    }
}

/// Whether one of `needles` starts after the next SEQUENCE header's length bytes in `bytes`
/// (an AlgorithmIdentifier: `30 LEN OID…`, or a ContentInfo).
fn starts_within(bytes: &[u8], needles: &[&[u8]]) -> bool {
    let skip = match bytes.first() {
        Some(0x81) => 2,
        Some(0x82) => 3,
        Some(0x83) => 4,
        Some(_) => 1,
        None => return false,
    };
    let rest = bytes.get(skip..).unwrap_or_default();
    // A ContentInfo or an encrypted key's algorithm may itself open with a SEQUENCE.
    let inner = match rest {
        [0x30, ..] => sequence_header(rest)
            .and_then(|(header, _)| rest.get(header..))
            .unwrap_or_default(),
        _ => rest,
    };
    needles
        .iter()
        .any(|needle| rest.starts_with(needle) || inner.starts_with(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(body: &[u8]) -> Vec<u8> {
        let mut out = vec![0x30, 0x82, (body.len() >> 8) as u8, body.len() as u8];
        out.extend_from_slice(body);
        out
    }

    fn padded(mut head: Vec<u8>, len: usize) -> Vec<u8> {
        head.resize(len, 0x11);
        head
    }

    #[test]
    fn key_files_are_told_by_their_structure() {
        let pkcs1 = der(&padded(vec![0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00], 600));
        assert_eq!(
            private_key(&pkcs1, pkcs1.len() as u64),
            Some("an RSA private key (PKCS #1, DER)")
        );
        let mut pkcs8 = vec![0x02, 0x01, 0x00, 0x30, 0x0D];
        pkcs8.extend_from_slice(&[
            0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00,
        ]);
        let pkcs8 = der(&padded(pkcs8, 1200));
        assert_eq!(
            private_key(&pkcs8, pkcs8.len() as u64),
            Some("a private key (PKCS #8, DER)")
        );
        // An Ed25519 key: 48 bytes, short form.
        let mut ed = vec![
            0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
        ];
        ed.resize(48, 0x42);
        assert_eq!(private_key(&ed, 48), Some("a private key (PKCS #8, DER)"));
        let mut sec1 = vec![0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20];
        sec1.resize(121, 0x42);
        assert_eq!(private_key(&sec1, 121), Some("an EC private key (SEC 1, DER)"));
        let mut pfx = vec![0x02, 0x01, 0x03, 0x30, 0x82, 0x04, 0x00];
        pfx.extend_from_slice(&[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]);
        let pfx = der(&padded(pfx, 2000));
        assert_eq!(private_key(&pfx, pfx.len() as u64), Some("a PKCS #12 key store"));
        let mut encrypted = vec![0x30, 0x4E];
        encrypted.extend_from_slice(&[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D]);
        let encrypted = der(&padded(encrypted, 700));
        assert_eq!(
            private_key(&encrypted, encrypted.len() as u64),
            Some("an encrypted private key (PKCS #8, DER)")
        );
    }

    #[test]
    fn certificates_public_keys_and_prefixes_are_not_keys() {
        // An X.509 certificate: a SEQUENCE opening with the TBSCertificate SEQUENCE.
        let cert = der(&padded(
            vec![0x30, 0x82, 0x01, 0x00, 0xA0, 0x03, 0x02, 0x01, 0x02],
            800,
        ));
        assert_eq!(private_key(&cert, cert.len() as u64), None);
        // A public key (SubjectPublicKeyInfo): the algorithm, then a BIT STRING.
        let mut spki = vec![0x30, 0x0D];
        spki.extend_from_slice(&[
            0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00, 0x03,
        ]);
        let spki = der(&padded(spki, 290));
        assert_eq!(private_key(&spki, spki.len() as u64), None);
        // A key's first bytes at the start of a longer file: not a key file.
        let pkcs1 = der(&padded(vec![0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00], 600));
        assert_eq!(private_key(&pkcs1, pkcs1.len() as u64 + 1), None);
    }
}
