use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read job status.
    Read,
    /// Submit and delete jobs, and read them.
    Submit,
    /// Everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Submit => "submit",
            Self::Admin => "admin",
        }
    }
}

/// The configured access tokens (`HOPPER_TOKENS`). Only their SHA-256 digests are kept, and a presented
/// token is compared with every one of them in constant time, so neither timing nor a memory dump gives
/// a secret away.
#[derive(Clone)]
pub struct Tokens(Vec<([u8; 32], Role)>);

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tokens({} configured)", self.0.len())
    }
}

impl Tokens {
    /// Parses `secret` or `role:secret`, comma-separated. A secret that itself contains `:` must be given
    /// with an explicit role. Errors never echo a secret.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        for (index, entry) in value.split(',').map(str::trim).enumerate() {
            let position = index + 1;
            if entry.is_empty() {
                return Err(format!(
                    "entry {position} is empty; give `secret` or `role:secret`"
                ));
            }
            let (role, secret) = match entry.split_once(':') {
                None => (Role::Submit, entry),
                Some(("read", secret)) => (Role::Read, secret),
                Some(("submit", secret)) => (Role::Submit, secret),
                Some(("admin", secret)) => (Role::Admin, secret),
                Some(_) => {
                    return Err(format!(
                        "entry {position} has an unknown role before ':'; use read:, submit: or admin:"
                    ));
                }
            };
            if secret.is_empty() {
                return Err(format!("entry {position} has an empty secret"));
            }
            tokens.push((digest(secret), role));
        }
        Ok(Self(tokens))
    }

    /// The role of `presented`, or `None` if it matches no configured token.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        let presented = digest(presented);
        // Every entry is compared, match or not, so the time taken does not say which one matched.
        self.0.iter().fold(None, |found, (known, role)| {
            if bool::from(known.ct_eq(&presented)) {
                Some(*role)
            } else {
                found
            }
        })
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bare secrets have role submit, prefixed ones their role; unknown secrets have none.
    #[test]
    fn roles_come_from_the_prefix() {
        let tokens = Tokens::parse("plain, read:r1,admin:a:b:c ,submit:s").expect("valid");
        assert_eq!(tokens.role_of("plain"), Some(Role::Submit));
        assert_eq!(tokens.role_of("r1"), Some(Role::Read));
        assert_eq!(tokens.role_of("a:b:c"), Some(Role::Admin));
        assert_eq!(tokens.role_of("s"), Some(Role::Submit));
        assert_eq!(tokens.role_of("read:r1"), None);
        assert_eq!(tokens.role_of(""), None);
        assert!(Role::Admin > Role::Submit && Role::Submit > Role::Read);
    }

    /// Empty entries, empty secrets and unknown roles are refused, naming the entry, not the secret.
    #[test]
    fn bad_entries_are_refused() {
        for bad in ["", "a,,b", "read:", "root:pw"] {
            let error = Tokens::parse(bad).expect_err(bad);
            assert!(error.contains("entry"), "{error}");
            assert!(!error.contains("pw"), "{error}");
        }
    }
}
