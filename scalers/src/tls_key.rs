//! Encrypted PEM client keys (`keyPassword`), turned into a plain PEM key that rustls loads.
//!
//! Two forms are read:
//! - PKCS#8 `ENCRYPTED PRIVATE KEY` (PBES2: PBKDF2 with HMAC-SHA1/SHA-2 or scrypt; AES-CBC,
//!   AES-GCM or DES-EDE3-CBC), what `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes. This is the
//!   form KEDA decrypts (`pkcs8.ParsePKCS8PrivateKey` in `pkg/util/tls_config.go`).
//! - The legacy OpenSSL form: `RSA PRIVATE KEY` / `EC PRIVATE KEY` with `Proc-Type: 4,ENCRYPTED`
//!   and `DEK-Info` headers (what `openssl rsa -aes256 -traditional` and `openssl ec -aes256`
//!   write), with AES-128/192/256-CBC, DES-EDE3-CBC or DES-CBC and OpenSSL's `EVP_BytesToKey`
//!   (MD5, one round) key derivation — the set Go's `x509.DecryptPEMBlock` reads. KEDA itself
//!   refuses this form; Prescale accepts it because it is what many tools still produce.
//!
//! Errors name what is wrong, never the password or any key material.

use base64::Engine;
use cbc::cipher::{BlockCipherDecrypt, BlockModeDecrypt, KeyInit, KeyIvInit, block_padding::Pkcs7};
use md5::{Digest, Md5};
use pkcs8::pkcs5;

/// One PEM block: its label, its `Name: value` headers and its decoded body.
struct Block {
    label: String,
    headers: Vec<(String, String)>,
    der: Vec<u8>,
}

/// The first PEM block of `text` (headers allowed, as RFC 1421 has them).
fn first_block(text: &str) -> Result<Block, String> {
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|l| {
            l.strip_prefix("-----BEGIN ")
                .and_then(|r| r.strip_suffix("-----"))
        })
        .ok_or("the key is not PEM (no -----BEGIN line)")?
        .to_string();
    let end = format!("-----END {label}-----");
    let (mut headers, mut body, mut ended) = (Vec::new(), String::new(), false);
    for l in lines {
        if l == end {
            ended = true;
            break;
        }
        match l.split_once(':') {
            Some((k, v)) if body.is_empty() => headers.push((k.trim().into(), v.trim().into())),
            _ => body.push_str(l),
        }
    }
    if !ended {
        return Err(format!("the {label} PEM block has no END line"));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|_| format!("the {label} PEM block is not valid base64"))?;
    Ok(Block {
        label,
        headers,
        der,
    })
}

/// Whether `key_pem` is an encrypted key in either form.
pub fn is_encrypted(key_pem: &str) -> bool {
    first_block(key_pem).is_ok_and(|b| {
        b.label == "ENCRYPTED PRIVATE KEY"
            || b.headers
                .iter()
                .any(|(k, v)| k == "Proc-Type" && v.contains("ENCRYPTED"))
    })
}

/// `key_pem` decrypted with `password` as a PEM rustls reads (`PRIVATE KEY`, `RSA PRIVATE
/// KEY` or `EC PRIVATE KEY`). An empty password leaves the key as it is. A password given for
/// a key that is not encrypted is an error, as in KEDA.
pub fn decrypt_pem(key_pem: &str, password: &str) -> Result<String, String> {
    if password.is_empty() {
        return Ok(key_pem.to_string());
    }
    let block = first_block(key_pem)?;
    if block.label == "ENCRYPTED PRIVATE KEY" {
        return decrypt_pkcs8(&block.der, password);
    }
    let proc_type = block.headers.iter().find(|(k, _)| k == "Proc-Type");
    if !proc_type.is_some_and(|(_, v)| v.contains("ENCRYPTED")) {
        return Err(format!(
            "keyPassword is set but the key ({}) is not encrypted",
            block.label
        ));
    }
    let plain = decrypt_legacy(&block, password.as_bytes())?;
    Ok(pem(&block.label, &plain))
}

fn decrypt_pkcs8(der: &[u8], password: &str) -> Result<String, String> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der)
        .map_err(|_| "the ENCRYPTED PRIVATE KEY is not a valid PKCS#8 structure".to_string())?;
    let doc = info.decrypt(password.as_bytes()).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::UnsupportedAlgorithm { .. })
        | pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::NoPbes1CryptSupport)
        | pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::AlgorithmParametersInvalid { .. }) => {
            "the ENCRYPTED PRIVATE KEY uses an encryption scheme Prescale cannot read (PBES2 \
             with PBKDF2 or scrypt and AES or DES-EDE3 is supported)"
                .to_string()
        }
        _ => "cannot decrypt the ENCRYPTED PRIVATE KEY: wrong keyPassword, or a damaged key"
            .to_string(),
    })?;
    // the plaintext must be a PrivateKeyInfo, or the password was wrong in a way the padding
    // check did not catch
    pkcs8::PrivateKeyInfoRef::try_from(doc.as_bytes()).map_err(|_| {
        "cannot decrypt the ENCRYPTED PRIVATE KEY: wrong keyPassword, or a damaged key".to_string()
    })?;
    Ok(pem("PRIVATE KEY", doc.as_bytes()))
}

fn decrypt_legacy(block: &Block, password: &[u8]) -> Result<Vec<u8>, String> {
    let dek = block
        .headers
        .iter()
        .find(|(k, _)| k == "DEK-Info")
        .map(|(_, v)| v.as_str())
        .ok_or("the encrypted key has no DEK-Info header")?;
    let (cipher, iv_hex) = dek
        .split_once(',')
        .ok_or("the DEK-Info header of the key is not <cipher>,<iv>")?;
    let iv = hex(iv_hex.trim()).ok_or("the IV in the DEK-Info header is not hex")?;
    let key_len = match cipher.trim() {
        "AES-128-CBC" => 16,
        "AES-192-CBC" | "DES-EDE3-CBC" => 24,
        "AES-256-CBC" => 32,
        "DES-CBC" => 8,
        other => {
            return Err(format!(
                "the key is encrypted with {other}, which Prescale cannot read (AES-128/192/256-CBC, \
                 DES-EDE3-CBC and DES-CBC are supported)"
            ));
        }
    };
    let iv_len = if cipher.trim().starts_with("DES") {
        8
    } else {
        16
    };
    if iv.len() != iv_len {
        return Err(format!(
            "the IV in the DEK-Info header is not {iv_len} bytes"
        ));
    }
    let key = bytes_to_key(password, &iv[..8], key_len);
    let mut buf = block.der.clone();
    let wrong =
        || "cannot decrypt the encrypted key: wrong keyPassword, or a damaged key".to_string();
    let plain = match cipher.trim() {
        "AES-128-CBC" => run::<aes::Aes128>(&key, &iv, &mut buf),
        "AES-192-CBC" => run::<aes::Aes192>(&key, &iv, &mut buf),
        "AES-256-CBC" => run::<aes::Aes256>(&key, &iv, &mut buf),
        "DES-EDE3-CBC" => run::<des::TdesEde3>(&key, &iv, &mut buf),
        _ => run::<des::Des>(&key, &iv, &mut buf),
    }
    .ok_or_else(wrong)?;
    // a wrong password passes the padding check about once in 256 tries: the plaintext must
    // also be a DER SEQUENCE spanning the whole buffer
    if !is_der_sequence(&plain) {
        return Err(wrong());
    }
    Ok(plain)
}

fn run<C>(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Option<Vec<u8>>
where
    C: BlockCipherDecrypt + KeyInit,
{
    let dec = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    dec.decrypt_padded::<Pkcs7>(buf).ok().map(<[u8]>::to_vec)
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one round: D1 = MD5(pass‖salt),
/// Di = MD5(Di-1‖pass‖salt), concatenated to `len` bytes.
fn bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while out.len() < len {
        let mut h = Md5::new();
        h.update(&prev);
        h.update(password);
        h.update(salt);
        prev = h.finalize().to_vec();
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    out
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A DER SEQUENCE whose length covers exactly `der`.
fn is_der_sequence(der: &[u8]) -> bool {
    let (Some(&0x30), Some(&first)) = (der.first(), der.get(1)) else {
        return false;
    };
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || der.len() < 2 + n {
            return false;
        }
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, 2 + n)
    };
    header + len == der.len()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evp_bytes_to_key_matches_openssl() {
        // `openssl enc -aes-256-cbc -pass pass:password -S 0102030405060708 -P -md md5`
        let out = bytes_to_key(b"password", &[1, 2, 3, 4, 5, 6, 7, 8], 48);
        let want = hex(concat!(
            "E7B0971E52CA5CC8D0539FB3412F6316F7BA2E6EE293D9F3457B99436B51CE02",
            "8D450E2ED75A84A923D4EAC9FE49226B"
        ))
        .unwrap();
        assert_eq!(out, want);
    }

    #[test]
    fn der_sequences_and_hex() {
        assert!(is_der_sequence(&[0x30, 0x02, 0x05, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x03, 0x05, 0x00]));
        assert!(!is_der_sequence(&[0x31, 0x02, 0x05, 0x00]));
        let mut long = vec![0x30, 0x81, 0x80];
        long.extend([0u8; 0x80]);
        assert!(is_der_sequence(&long));
        assert_eq!(hex("0aFF"), Some(vec![10, 255]));
        assert_eq!(hex("0a F"), None);
        assert_eq!(hex("abc"), None);
    }

    #[test]
    fn forms_and_errors() {
        let plain = "-----BEGIN EC PRIVATE KEY-----\nMAMCAQE=\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(decrypt_pem(plain, "").unwrap(), plain);
        assert!(!is_encrypted(plain));
        assert!(
            decrypt_pem(plain, "pw")
                .unwrap_err()
                .contains("is not encrypted")
        );
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                      DEK-Info: CAMELLIA-256-CBC,00112233445566778899AABBCCDDEEFF\n\n\
                      AAAAAAAAAAAAAAAAAAAAAA==\n-----END RSA PRIVATE KEY-----\n";
        assert!(is_encrypted(legacy));
        let err = decrypt_pem(legacy, "pw").unwrap_err();
        assert!(
            err.contains("CAMELLIA-256-CBC") && !err.contains("pw"),
            "{err}"
        );
        let bad_iv = legacy.replace(
            "CAMELLIA-256-CBC,00112233445566778899AABBCCDDEEFF",
            "AES-256-CBC,0011",
        );
        assert!(decrypt_pem(&bad_iv, "pw").unwrap_err().contains("16 bytes"));
        assert!(
            decrypt_pem("not a key", "pw")
                .unwrap_err()
                .contains("not PEM")
        );
        let p8 = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAMCAQE=\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(is_encrypted(p8));
        assert!(
            decrypt_pem(p8, "pw")
                .unwrap_err()
                .contains("not a valid PKCS#8")
        );
    }
}
