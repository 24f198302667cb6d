//! User-token verification keys (docs/integrate.md, "Identity"): a shared
//! secret, a PEM public key, or one key of the identity provider's JWKS.
//! Each is checked when it is loaded, so a key Chorus cannot verify with
//! is refused then, with a reason, rather than refusing every token later.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse, RSAKeyParameters,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// Smallest RSA modulus accepted, in bits: shorter keys can be forged.
pub const MIN_RSA_BITS: usize = 2048;
/// Longest `kid` accepted, in bytes.
pub const MAX_KID_BYTES: usize = 256;

/// A key and the one algorithm it verifies; a token whose header names
/// another algorithm is refused (no algorithm confusion).
#[derive(Clone)]
pub struct VerifyingKey {
    /// The key.
    pub key: DecodingKey,
    /// The only algorithm tokens verified with it may use.
    pub algorithm: Algorithm,
}

impl VerifyingKey {
    /// An HS256 shared secret.
    pub fn secret(secret: &[u8]) -> Self {
        VerifyingKey {
            key: DecodingKey::from_secret(secret),
            algorithm: Algorithm::HS256,
        }
    }

    /// A PEM public key: RSA (RS256, at least [`MIN_RSA_BITS`]) or EC on
    /// P-256 (ES256). Anything else is refused with what it is.
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(pem).map_err(|_| "the file is not PEM text".to_owned())?;
        if text.contains("PRIVATE KEY") {
            return Err("the file holds a private key; give the public key".into());
        }
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            let jwk = Jwk::from_decoding_key(&key, Some(Algorithm::RS256))
                .map_err(|e| format!("unreadable RSA key: {e}"))?;
            if let AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
                check_rsa(rsa)?;
            }
            return Ok(VerifyingKey {
                key,
                algorithm: Algorithm::RS256,
            });
        }
        use p256::pkcs8::DecodePublicKey;
        if p256::PublicKey::from_public_key_pem(text).is_ok() {
            let key = DecodingKey::from_ec_pem(pem).map_err(|e| e.to_string())?;
            return Ok(VerifyingKey {
                key,
                algorithm: Algorithm::ES256,
            });
        }
        Err(if DecodingKey::from_ec_pem(pem).is_ok() {
            "an EC key on a curve other than P-256; only P-256 (ES256) EC keys are supported"
        } else if DecodingKey::from_ed_pem(pem).is_ok() {
            "an Ed25519 key; only RSA (RS256) and EC P-256 (ES256) keys are supported"
        } else {
            "not a PEM public key (expected RSA for RS256 or EC P-256 for ES256)"
        }
        .into())
    }

    /// One key of a JWKS, with its `kid`: RSA (RS256) or EC P-256 (ES256),
    /// for signatures, with a `kid`. The reason a key is refused names it.
    pub fn from_jwk(value: &Value) -> Result<(String, Self), String> {
        let kid = value.get("kid").and_then(Value::as_str).unwrap_or("");
        let named = |why: String| {
            if kid.is_empty() {
                why
            } else {
                format!("key {kid:?}: {why}")
            }
        };
        let jwk: Jwk =
            serde_json::from_value(value.clone()).map_err(|e| named(format!("not a JWK: {e}")))?;
        let kid = match jwk.common.key_id.as_deref() {
            Some(kid) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => kid.to_owned(),
            Some(kid) if !kid.is_empty() => return Err("a key's kid is too long".into()),
            _ => return Err("a key without a kid (tokens choose their key by kid)".into()),
        };
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            return Err(named("its use is not sig".into()));
        }
        let alg = jwk.common.key_algorithm;
        let key = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) if matches!(alg, None | Some(KeyAlgorithm::RS256)) => {
                check_rsa(rsa).map_err(named)?;
                VerifyingKey {
                    key: DecodingKey::from_rsa_components(&rsa.n, &rsa.e)
                        .map_err(|e| named(e.to_string()))?,
                    algorithm: Algorithm::RS256,
                }
            }
            AlgorithmParameters::EllipticCurve(ec)
                if ec.curve == EllipticCurve::P256
                    && matches!(alg, None | Some(KeyAlgorithm::ES256)) =>
            {
                let point = p256_point(&ec.x, &ec.y).map_err(named)?;
                p256::PublicKey::from_sec1_bytes(&point)
                    .map_err(|_| named("its point is not on P-256".into()))?;
                VerifyingKey {
                    key: DecodingKey::from_ec_components(&ec.x, &ec.y)
                        .map_err(|e| named(e.to_string()))?,
                    algorithm: Algorithm::ES256,
                }
            }
            _ => {
                return Err(named(
                    "unsupported key type or algorithm (RSA RS256 and EC P-256 ES256 are)".into(),
                ));
            }
        };
        Ok((kid, key))
    }
}

/// Base64url, with or without padding (providers differ).
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode(field: &str, text: &str) -> Result<Vec<u8>, String> {
    B64.decode(text)
        .map_err(|_| format!("its {field} is not base64url"))
}

/// An RSA public key Chorus accepts: a valid exponent, a modulus of at
/// least [`MIN_RSA_BITS`] (and no more than the `rsa` crate verifies).
fn check_rsa(rsa: &RSAKeyParameters) -> Result<(), String> {
    use rsa::traits::PublicKeyParts;
    let n = rsa::BigUint::from_bytes_be(&decode("n", &rsa.n)?);
    let e = rsa::BigUint::from_bytes_be(&decode("e", &rsa.e)?);
    let key = rsa::RsaPublicKey::new(n, e).map_err(|e| format!("not a usable RSA key: {e}"))?;
    let bits = key.n().bits();
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "an RSA key of {bits} bits; at least {MIN_RSA_BITS} are required"
        ));
    }
    Ok(())
}

/// The uncompressed SEC1 point of a P-256 key's coordinates.
fn p256_point(x: &str, y: &str) -> Result<Vec<u8>, String> {
    let (x, y) = (decode("x", x)?, decode("y", y)?);
    if x.len() != 32 || y.len() != 32 {
        return Err("its coordinates are not 32 bytes each".into());
    }
    Ok([&[4u8][..], &x, &y].concat())
}
