//! Secrets in `Debug` output: configuration structs are logged and printed in
//! error reports, so tokens show as `<redacted>` (and URLs with passwords go
//! through `verity_store::select::redact_url`).

use std::fmt;

/// Shows whether a secret is set, never its value.
pub struct Redacted<'a>(pub &'a Option<String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some(<redacted>)"),
            None => f.write_str("None"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::runtime::EmbeddedConfig;

    #[test]
    fn the_whole_configuration_prints_without_secrets() {
        let token = "admin-token-0123456789abcdef".to_owned();
        let mut config = EmbeddedConfig::new(PathBuf::from("/data"));
        config.db = verity_store::select::DbUrl::parse(
            Some("postgres://verity:db-pass-42@db:5432/v"),
            &PathBuf::from("/data/verity.db"),
        )
        .unwrap();
        config.queue =
            verity_store::select::QueueUrl::parse(Some("redis://:queue-pass-42@cache:6379"))
                .unwrap();
        config.disputes.admin_token = Some(token.clone());
        config.attestation.admin_token = Some(token.clone());
        let shown = format!("{config:?}");
        for secret in [token.as_str(), "db-pass-42", "queue-pass-42"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("Some(<redacted>)"), "{shown}");
        assert!(shown.contains("verity:***@db:5432"), "{shown}");
        let none = EmbeddedConfig::new(PathBuf::from("/data"));
        assert!(format!("{:?}", none.disputes).contains("admin_token: None"));
    }
}
