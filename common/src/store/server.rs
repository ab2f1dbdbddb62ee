//! What the store reads of the Redis server itself (uptime, encoding limits), and the deployment-wide
//! count of dead-lettered messages.

use std::time::Duration;

use crate::StoreError;

use super::Store;

/// The `hash-max-listpack-value` Hopper's deployment recommends: every field of a job hash fits, the
/// longest being the output tail ([`crate::RESULT_LIMIT`] bytes), so Redis keeps job hashes compact.
pub const RECOMMENDED_HASH_MAX_LISTPACK_VALUE: u64 = 65_536;
const _: () = assert!(crate::RESULT_LIMIT as u64 <= RECOMMENDED_HASH_MAX_LISTPACK_VALUE);

impl Store {
    /// How long the Redis server has been up. Heartbeats written before a restart may have expired
    /// while it was down, so sweepers wait a heartbeat period after a restart before judging anyone.
    pub async fn uptime(&self) -> Result<Duration, StoreError> {
        let info: String = self
            .call(|mut conn| async move {
                Ok(redis::cmd("INFO")
                    .arg("server")
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        info.lines()
            .find_map(|line| line.strip_prefix("uptime_in_seconds:"))
            .and_then(|secs| secs.trim().parse().ok())
            .map(Duration::from_secs)
            .ok_or_else(|| StoreError::Corrupt("INFO server has no uptime_in_seconds".to_owned()))
    }

    /// How large a hash field value Redis still stores compactly (`hash-max-listpack-value`), read with
    /// `CONFIG GET`. Job hashes hold values far above Redis's default of 64 bytes (history, output tail,
    /// arguments), and a hash with one such value is stored as a hashtable, about three times the size.
    /// A Redis that refuses `CONFIG` (managed services often do) answers [`HashEncoding::Unknown`].
    pub async fn hash_encoding(&self) -> Result<HashEncoding, StoreError> {
        // Redis 7 calls it listpack; Redis 6 knows only the older name (7 still answers to both).
        for name in ["hash-max-listpack-value", "hash-max-ziplist-value"] {
            let reply: Result<Vec<String>, StoreError> = self
                .call(|mut conn| async move {
                    Ok(redis::cmd("CONFIG")
                        .arg("GET")
                        .arg(name)
                        .query_async(&mut conn)
                        .await?)
                })
                .await;
            match reply {
                Ok(pair) => {
                    let Some(value) = pair.get(1) else { continue };
                    return value.trim().parse().map(HashEncoding::Limit).map_err(|_| {
                        StoreError::Corrupt(format!("CONFIG GET {name} answered '{value}'"))
                    });
                }
                // An answer, but an error: CONFIG is disabled, renamed or not permitted to this user.
                Err(StoreError::Redis(error)) if !error.is_io_error() => {
                    return Ok(HashEncoding::Unknown(error.to_string()));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(HashEncoding::Unknown(
            "this Redis has no hash-max-listpack-value setting".to_owned(),
        ))
    }

    /// Counts a message sent to the dead-letter queue; returns the count so far.
    pub async fn count_dead_letter(&self) -> Result<u64, StoreError> {
        self.call(|mut conn| async move {
            Ok(redis::cmd("INCR")
                .arg(self.ns.key("dead-lettered"))
                .query_async(&mut conn)
                .await?)
        })
        .await
    }
}

/// What [`Store::hash_encoding`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashEncoding {
    /// Redis stores a hash compactly (as a listpack) while each of its values is at most this many bytes.
    Limit(u64),
    /// Redis would not say (why).
    Unknown(String),
}

impl HashEncoding {
    /// What an operator should hear at start-up, if anything: ended jobs hold values up to
    /// [`crate::RESULT_LIMIT`] bytes, so a lower limit stores them at about three times the memory.
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::Limit(limit) if *limit < RECOMMENDED_HASH_MAX_LISTPACK_VALUE => Some(format!(
                "Redis's hash-max-listpack-value is {limit}: job records with a longer value (history, \
                 output, arguments) are stored as hashtables, about 3 times the memory of a listpack; \
                 set hash-max-listpack-value {RECOMMENDED_HASH_MAX_LISTPACK_VALUE} in redis.conf (see \
                 docs/deployment.md)"
            )),
            Self::Limit(_) | Self::Unknown(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_below_the_recommendation_is_worth_a_warning() {
        let warning = HashEncoding::Limit(64).warning().expect("a warning");
        assert!(warning.contains("is 64"), "{warning}");
        assert!(
            warning.contains("hash-max-listpack-value 65536"),
            "{warning}"
        );
        assert!(warning.contains("docs/deployment.md"), "{warning}");
        assert!(HashEncoding::Limit(65_535).warning().is_some());
    }

    #[test]
    fn the_recommended_limit_or_more_or_an_unknown_one_is_not() {
        assert_eq!(HashEncoding::Limit(65_536).warning(), None);
        assert_eq!(HashEncoding::Limit(1 << 20).warning(), None);
        assert_eq!(
            HashEncoding::Unknown("ERR unknown command 'CONFIG'".to_owned()).warning(),
            None
        );
    }
}
