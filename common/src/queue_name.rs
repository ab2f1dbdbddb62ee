use std::fmt;

/// A user's queue name, such as megSAP's `default_srv010` or SGE's `all.q`.
///
/// Limited to 1–50 characters of `[A-Za-z0-9_.-]`: GSvar stores the queue in a `varchar(50)`, and the
/// character set keeps the AMQP name `<namespace>.<queue>` unambiguous and free of the `:` that worker
/// control queues use.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueName(String);

impl QueueName {
    pub const MAX_LEN: usize = 50;

    pub fn parse(value: &str) -> Result<Self, String> {
        if value.is_empty() || value.len() > Self::MAX_LEN {
            return Err(format!(
                "queue name '{}' must be 1-{} characters long",
                crate::excerpt(value),
                Self::MAX_LEN
            ));
        }
        let charset_ok = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !charset_ok || value.starts_with('.') {
            return Err(format!(
                "queue name '{}' may only contain letters, digits, '_', '-' and '.' (not first)",
                crate::excerpt(value)
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `a, b, c`, for messages and logs.
    pub fn join(queues: &[QueueName]) -> String {
        let names: Vec<&str> = queues.iter().map(Self::as_str).collect();
        names.join(", ")
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Comma-separated queue names; a newtype because clap reads a `Vec` field as a repeated flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueList(pub Vec<QueueName>);

impl QueueList {
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut queues: Vec<QueueName> = value
            .split(',')
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(QueueName::parse)
            .collect::<Result<_, _>>()?;
        queues.sort();
        queues.dedup();
        if queues.is_empty() {
            return Err("needs at least one queue name".to_owned());
        }
        Ok(Self(queues))
    }
}
