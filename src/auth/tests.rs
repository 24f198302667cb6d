//! Unit tests of tokens and keys; the JWKS end to end is tests/it/jwks.rs.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use super::*;

const RSA1: &[u8] = include_bytes!("../../tests/keys/rsa1.pub.pem");
const RSA1_KEY: &[u8] = include_bytes!("../../tests/keys/rsa1.key");
const RSA1024: &[u8] = include_bytes!("../../tests/keys/rsa1024.pub.pem");
const RSA1024_KEY: &[u8] = include_bytes!("../../tests/keys/rsa1024.key");
const EC256: &[u8] = include_bytes!("../../tests/keys/ec256.pub.pem");
const EC256_KEY: &[u8] = include_bytes!("../../tests/keys/ec256.key");
const EC384: &[u8] = include_bytes!("../../tests/keys/ec384.pub.pem");
const EC384_KEY: &[u8] = include_bytes!("../../tests/keys/ec384.key");
const K256: &[u8] = include_bytes!("../../tests/keys/k256.pub.pem");
const ED25519: &[u8] = include_bytes!("../../tests/keys/ed25519.pub.pem");

fn settings(user_key: UserKey) -> AuthSettings {
    AuthSettings {
        prompt_token_seconds: crate::auth::PROMPT_TOKEN_SECONDS,
        user_key,
        user_issuer: None,
        user_audience: None,
        user_leeway_seconds: DEFAULT_LEEWAY_SECONDS,
        prompt_secret: "prompt-secret".into(),
        admin_token: "admin".into(),
    }
}

fn auth() -> Auth {
    Auth::new(settings(UserKey::Secret("user-secret".into()))).unwrap()
}

fn hs256(claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"user-secret"),
    )
    .unwrap()
}

#[test]
fn bearer_headers_are_parsed_case_insensitively() {
    assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
    assert_eq!(bearer_token(Some("bEaReR abc")), Ok("abc"));
    assert_eq!(bearer_token(None), Err(AuthError::NotSet));
    assert_eq!(bearer_token(Some("abc")), Err(AuthError::BadFormat));
    assert_eq!(bearer_token(Some("basic abc")), Err(AuthError::BadFormat));
}

#[tokio::test]
async fn prompt_tokens_grant_exactly_their_prompt() {
    let a = auth();
    let t = a.mint_prompt_token("ip_1");
    assert_eq!(a.verify_prompt(&t), Ok("ip_1".into()));
    assert_eq!(a.verify_prompt_for(&t, "ip_2"), Err(AuthError::Invalid));
    assert_eq!(a.verify_prompt("garbage"), Err(AuthError::Invalid));
    // A user token is not a prompt token.
    let u = a.mint_dev_user_token("u1", "Ann Lee").unwrap();
    assert_eq!(a.verify_prompt(&u), Err(AuthError::Invalid));
    let who = a.verify_user(&u).await.unwrap();
    assert_eq!(
        (who.sub.as_str(), who.display_name.as_deref()),
        ("u1", Some("Ann"))
    );
    // …and a prompt token is not a user token.
    assert_eq!(a.verify_user(&t).await, Err(AuthError::Invalid));
}

#[tokio::test]
async fn remembered_tokens_still_expire() {
    let mut s = settings(UserKey::Secret("user-secret".into()));
    s.user_leeway_seconds = 0;
    let a = Auth::new(s).unwrap();
    let exp = unix_now() + 1;
    let token = hs256(json!({"sub": "u1", "iat": exp - 1, "exp": exp}));
    assert_eq!(a.verify_user(&token).await.unwrap().sub, "u1");
    let again = a.verify_user(&token).await.unwrap();
    assert_eq!(again.sub, "u1", "served from the cache");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(a.verify_user(&token).await, Err(AuthError::Invalid));
    // A token is remembered only by its exact text.
    let t = a.mint_prompt_token("ip_1");
    assert_eq!(a.verify_prompt(&t), Ok("ip_1".into()));
    let mut forged = t.clone();
    forged.push('x');
    assert_eq!(a.verify_prompt(&forged), Err(AuthError::Invalid));
}

#[tokio::test]
async fn not_before_is_honoured_within_the_configured_leeway() {
    let now = unix_now();
    let early = hs256(json!({"sub": "u1", "iat": now, "exp": now + 600, "nbf": now + 30}));
    let late = hs256(json!({"sub": "u1", "iat": now, "exp": now + 600, "nbf": now + 300}));
    let expired = hs256(json!({"sub": "u1", "iat": now - 600, "exp": now - 30}));
    // The default leeway (60 s) covers a 30 s skew, not 300 s.
    let a = auth();
    assert!(a.verify_user(&early).await.is_ok());
    assert!(a.verify_user(&expired).await.is_ok());
    assert_eq!(a.verify_user(&late).await, Err(AuthError::Invalid));
    // With 10 s, neither 30 s early nor 30 s late passes.
    let mut s = settings(UserKey::Secret("user-secret".into()));
    s.user_leeway_seconds = 10;
    let strict = Auth::new(s).unwrap();
    assert_eq!(strict.verify_user(&early).await, Err(AuthError::Invalid));
    assert_eq!(strict.verify_user(&expired).await, Err(AuthError::Invalid));
    // `iat` is required.
    let no_iat = hs256(json!({"sub": "u1", "exp": now + 600}));
    assert_eq!(a.verify_user(&no_iat).await, Err(AuthError::Invalid));
    // More than 60 s of leeway is refused at start-up.
    let mut s = settings(UserKey::Secret("user-secret".into()));
    s.user_leeway_seconds = 61;
    let err = Auth::new(s).err().unwrap().to_string();
    assert!(err.contains("at most 60"), "{err}");
}

fn sign(alg: Algorithm, key: EncodingKey, kid: Option<&str>) -> String {
    let now = unix_now();
    let mut header = Header::new(alg);
    header.kid = kid.map(Into::into);
    encode(
        &header,
        &json!({"sub": "u1", "iat": now, "exp": now + 600}),
        &key,
    )
    .unwrap()
}

#[tokio::test]
async fn pem_keys_verify_their_own_algorithm_only() {
    let rsa = Auth::new(settings(UserKey::PublicKeyPem(RSA1.to_vec()))).unwrap();
    let rs256 = sign(
        Algorithm::RS256,
        EncodingKey::from_rsa_pem(RSA1_KEY).unwrap(),
        None,
    );
    assert_eq!(rsa.verify_user(&rs256).await.unwrap().sub, "u1");
    // The public key used as an HS256 secret (algorithm confusion).
    let confused = sign(Algorithm::HS256, EncodingKey::from_secret(RSA1), None);
    assert_eq!(rsa.verify_user(&confused).await, Err(AuthError::Invalid));
    assert!(rsa.mint_dev_user_token("u", "n").is_none());

    let ec = Auth::new(settings(UserKey::PublicKeyPem(EC256.to_vec()))).unwrap();
    let es256 = sign(
        Algorithm::ES256,
        EncodingKey::from_ec_pem(EC256_KEY).unwrap(),
        None,
    );
    assert_eq!(ec.verify_user(&es256).await.unwrap().sub, "u1");
    assert_eq!(ec.verify_user(&rs256).await, Err(AuthError::Invalid));
}

#[test]
fn unsupported_pem_keys_are_refused_at_start_up_with_a_reason() {
    let cases: [(&[u8], &str); 6] = [
        (EC384, "curve other than P-256"),
        (K256, "curve other than P-256"),
        (ED25519, "Ed25519"),
        (RSA1024, "1024 bits"),
        (RSA1_KEY, "private key"),
        (b"hello", "not a PEM public key"),
    ];
    for (pem, reason) in cases {
        let err = Auth::new(settings(UserKey::PublicKeyPem(pem.to_vec())))
            .err()
            .unwrap_or_else(|| panic!("{reason}: accepted"))
            .to_string();
        assert!(err.contains(reason), "{reason}: {err}");
    }
}

/// The JWK of a private key's public half, with `kid`.
fn jwk(alg: Algorithm, key: &EncodingKey, kid: &str) -> Value {
    let mut v = serde_json::to_value(Jwk::from_encoding_key(key, alg).unwrap()).unwrap();
    v["kid"] = kid.into();
    v
}

#[test]
fn jwks_keys_are_accepted_or_refused_one_by_one() {
    use keys::VerifyingKey;
    let rsa = EncodingKey::from_rsa_pem(RSA1_KEY).unwrap();
    let ec = EncodingKey::from_ec_pem(EC256_KEY).unwrap();
    let p384 = EncodingKey::from_ec_pem(EC384_KEY).unwrap();
    let short = EncodingKey::from_rsa_pem(RSA1024_KEY).unwrap();
    let good_rsa = jwk(Algorithm::RS256, &rsa, "r1");
    let good_ec = jwk(Algorithm::ES256, &ec, "e1");
    let (kid, key) = VerifyingKey::from_jwk(&good_rsa).unwrap();
    assert_eq!((kid.as_str(), key.algorithm), ("r1", Algorithm::RS256));
    let (kid, key) = VerifyingKey::from_jwk(&good_ec).unwrap();
    assert_eq!((kid.as_str(), key.algorithm), ("e1", Algorithm::ES256));
    // Without `alg`, the key type decides.
    let mut bare = good_rsa.clone();
    bare.as_object_mut().unwrap().remove("alg");
    assert!(VerifyingKey::from_jwk(&bare).is_ok());

    let with = |base: &Value, field: &str, value: Value| {
        let mut v = base.clone();
        v[field] = value;
        v
    };
    let mut off_curve = good_ec.clone();
    off_curve["y"] = good_ec["x"].clone();
    let refused = [
        (jwk(Algorithm::ES384, &p384, "p384"), "unsupported"),
        (with(&good_rsa, "alg", json!("RS512")), "unsupported"),
        (with(&good_rsa, "alg", json!("PS256")), "unsupported"),
        (with(&good_rsa, "use", json!("enc")), "use is not sig"),
        (with(&good_rsa, "n", json!("!!!")), "not base64url"),
        (jwk(Algorithm::RS256, &short, "short"), "1024 bits"),
        (with(&good_ec, "x", json!("AQAB")), "32 bytes"),
        (off_curve, "not on P-256"),
        (with(&good_rsa, "kid", json!("")), "without a kid"),
        (with(&good_rsa, "kid", json!("k".repeat(300))), "too long"),
        (
            json!({"kty": "oct", "k": "c2VjcmV0", "kid": "o"}),
            "unsupported",
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AQAB", "kid": "d"}),
            "unsupported",
        ),
        (json!({"kty": 5, "kid": "w"}), "key \"w\""),
        (json!("not an object"), "not a JWK"),
    ];
    for (value, reason) in refused {
        let err = VerifyingKey::from_jwk(&value)
            .err()
            .unwrap_or_else(|| panic!("{value}: accepted"));
        assert!(err.contains(reason), "{value}: {err}");
    }
}

#[test]
fn admin_tokens_compare_exactly() {
    let a = auth();
    assert!(a.is_admin("admin"));
    assert!(!a.is_admin("admin2"));
    assert!(!a.is_admin(""));
}
