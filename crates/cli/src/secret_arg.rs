//! Command-line values that must not show in `Debug` output: the parsed
//! arguments derive `Debug`, and a stray `{args:?}` in a log line or an error
//! report must not print a token or a database password.

use std::convert::Infallible;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

/// A secret (a bearer token): `Debug` shows `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretArg(String);

/// A service URL that may carry a password: `Debug` shows it redacted
/// (`verity_store::select::redact_url`).
#[derive(Clone, PartialEq, Eq)]
pub struct UrlArg(String);

macro_rules! string_arg {
    ($name:ident) => {
        impl FromStr for $name {
            type Err = Infallible;

            fn from_str(s: &str) -> Result<Self, Infallible> {
                Ok($name(s.to_owned()))
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_arg!(SecretArg);
string_arg!(UrlArg);

impl fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Debug for UrlArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&verity_store::select::redact_url(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::args::Cli;

    #[test]
    fn parsed_arguments_print_without_secrets() {
        let token = "admin-token-0123456789abcdef";
        let serve = Cli::try_parse_from([
            "verity",
            "serve",
            "--db",
            "postgres://verity:db-pass-42@db:5432/v",
            "--queue",
            "redis://:queue-pass-42@cache:6379",
            "--admin-token",
            token,
        ])
        .unwrap();
        let worker = Cli::try_parse_from([
            "verity",
            "worker",
            "--enclave-id",
            "enclave-1",
            "--queue",
            "postgres://verity:worker-pass-42@db/v",
        ])
        .unwrap();
        let shown = format!("{serve:?} {worker:?}");
        for secret in [token, "db-pass-42", "queue-pass-42", "worker-pass-42"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(shown.contains("verity:***@db:5432"), "{shown}");
    }
}
