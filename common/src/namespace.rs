use std::fmt;

/// The prefix of every Redis key and AMQP queue name of one deployment (default `hopper`).
///
/// Several deployments, and every test, share one Redis and one broker without touching each other
/// because nothing Hopper names lives outside its namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    /// Accepts 1–64 characters of `[A-Za-z0-9_-]`: safe inside Redis keys and AMQP names alike.
    pub fn parse(value: &str) -> Result<Self, String> {
        if crate::text::is_plain_name(value, 64) {
            Ok(Self(value.to_owned()))
        } else {
            Err(format!(
                "namespace '{value}' must be 1-64 characters of letters, digits, '_' or '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A Redis key inside the namespace: `<ns>:<rest>`.
    pub(crate) fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.0)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
