//! Password hashing (argon2id at OWASP's minimum: m=19 MiB, t=2, p=1, PHC strings) and the
//! password policy.

use std::sync::LazyLock;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};

/// Shortest password accepted.
pub const MIN_LEN: usize = 8;
/// Longest password accepted (hashing cost grows with length).
pub const MAX_LEN: usize = 128;

fn argon2() -> Argon2<'static> {
    #[expect(clippy::unwrap_used, reason = "constant, valid parameters")]
    let params = Params::new(19_456, 2, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password. Unknown accounts are verified against it so that they
/// take as long as known ones and cannot be told apart by timing.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let random: [u8; 16] = rand::random();
    hash_blocking(&hex::encode(random)).unwrap_or_default()
});

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// Hashes a password off the async runtime.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Verifies `password` against `stored`, or against a dummy hash when there is no stored
/// hash, so that both cases cost the same. Returns true only for a real match.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let real = stored.is_some();
    let result = tokio::task::spawn_blocking(move || {
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        PasswordHash::new(&phc)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    real && result
}

/// Warms the dummy hash at start-up so the first unknown login is not faster or slower.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// Why a password was refused; each maps to a locale key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// Fewer than [`MIN_LEN`] characters.
    TooShort,
    /// More than [`MAX_LEN`] characters.
    TooLong,
    /// A common or easily guessed password.
    TooCommon,
}

impl PolicyError {
    /// The locale key of the message.
    pub fn key(self) -> &'static str {
        match self {
            Self::TooShort => "password.too_short",
            Self::TooLong => "password.too_long",
            Self::TooCommon => "password.too_common",
        }
    }
}

/// Checks the policy: 8 to 128 characters, and not common or guessable (zxcvbn score of
/// at least 2, taking the user's own name and email into account).
pub fn check_policy(password: &str, user_inputs: &[&str]) -> Result<(), PolicyError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(PolicyError::TooShort);
    }
    if len > MAX_LEN {
        return Err(PolicyError::TooLong);
    }
    let entropy = zxcvbn::zxcvbn(password, user_inputs);
    if (entropy.score() as u8) < 2 {
        return Err(PolicyError::TooCommon);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_at_owasp_parameters() {
        let phc = hash("Correct-Horse-42".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("Correct-Horse-42".into(), Some(phc.clone())).await);
        assert!(!verify("wrong".into(), Some(phc)).await);
        assert!(!verify("anything".into(), None).await);
    }

    #[test]
    fn policy_refuses_short_and_common_passwords() {
        assert_eq!(check_policy("abc", &[]), Err(PolicyError::TooShort));
        assert_eq!(
            check_policy("password123", &[]),
            Err(PolicyError::TooCommon)
        );
        assert_eq!(check_policy("12345678", &[]), Err(PolicyError::TooCommon));
        assert_eq!(
            check_policy("zhangsan@acme.cn", &["zhangsan@acme.cn"]),
            Err(PolicyError::TooCommon)
        );
        assert_eq!(
            check_policy(&"x".repeat(200), &[]),
            Err(PolicyError::TooLong)
        );
        assert!(check_policy("Blue-Lantern-Orbit-7", &[]).is_ok());
    }
}
