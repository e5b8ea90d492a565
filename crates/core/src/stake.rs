//! The stake ledger (DESIGN.md §4): every token movement is an entry.
//!
//! Balances are never stored as the source of truth: they are derived by
//! replaying the append-only entries. Tokens enter the system only through
//! deposits ([`EntryKind::Stake`] and [`EntryKind::Bond`]) and leave it only
//! through [`EntryKind::Withdraw`]; every other entry moves tokens between two
//! [`Account`]s. Hence the conservation law the property tests check:
//!
//! ```text
//! Σ balances = Σ deposits − Σ withdrawals, and no balance is ever negative.
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::EnclaveId;

/// Who holds tokens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// An oracle's stake.
    Oracle(EnclaveId),
    /// A dispute's escrow (the challenger's bond while the dispute is open).
    Escrow(String),
    /// What a challenger (a Sui-style address) is owed: refunds and rewards.
    Challenger(String),
    /// The protocol's treasury: slashed stake not paid out as a reward.
    Treasury,
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Oracle(id) => write!(f, "oracle:{id}"),
            Account::Escrow(d) => write!(f, "escrow:{d}"),
            Account::Challenger(a) => write!(f, "challenger:{a}"),
            Account::Treasury => f.write_str("treasury"),
        }
    }
}

/// An account name that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an account name: {0:?}")]
pub struct BadAccount(pub String);

impl FromStr for Account {
    type Err = BadAccount;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadAccount(s.to_owned());
        if s == "treasury" {
            return Ok(Account::Treasury);
        }
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        match kind {
            "oracle" => Ok(Account::Oracle(rest.parse().map_err(|_| bad())?)),
            "escrow" => Ok(Account::Escrow(rest.to_owned())),
            "challenger" => Ok(Account::Challenger(rest.to_owned())),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Account {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Account {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A deposit of stake into an oracle's account.
    Stake,
    /// A challenger's bond deposited into a dispute's escrow.
    Bond,
    /// Stake taken from an oracle (to the treasury).
    Slash,
    /// A payment out of slashed stake (treasury → challenger).
    Reward,
    /// A bond returned (escrow → challenger).
    Refund,
    /// A bond lost by an upheld dispute (escrow → the honest oracles).
    Forfeit,
    /// Stake leaving the system (an oracle's account → outside).
    Withdraw,
}

impl EntryKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Stake => "stake",
            EntryKind::Bond => "bond",
            EntryKind::Slash => "slash",
            EntryKind::Reward => "reward",
            EntryKind::Refund => "refund",
            EntryKind::Forfeit => "forfeit",
            EntryKind::Withdraw => "withdraw",
        }
    }

    /// Whether tokens enter the system (no source account).
    pub fn is_deposit(self) -> bool {
        matches!(self, EntryKind::Stake | EntryKind::Bond)
    }
}

impl FromStr for EntryKind {
    type Err = BadAccount;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "stake" => EntryKind::Stake,
            "bond" => EntryKind::Bond,
            "slash" => EntryKind::Slash,
            "reward" => EntryKind::Reward,
            "refund" => EntryKind::Refund,
            "forfeit" => EntryKind::Forfeit,
            "withdraw" => EntryKind::Withdraw,
            other => return Err(BadAccount(other.to_owned())),
        })
    }
}

/// One movement of tokens, as proposed by a rule (before it is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Movement {
    /// What it records.
    pub kind: EntryKind,
    /// Where the tokens come from; `None` for deposits.
    pub from: Option<Account>,
    /// Where they go; `None` for withdrawals.
    pub to: Option<Account>,
    /// How many whole tokens.
    pub amount: u64,
    /// Why, for people.
    pub reason: String,
}

impl Movement {
    /// A movement of `amount` of `kind` from `from` to `to`.
    pub fn new(
        kind: EntryKind,
        from: Option<Account>,
        to: Option<Account>,
        amount: u64,
        reason: impl Into<String>,
    ) -> Self {
        Movement {
            kind,
            from,
            to,
            amount,
            reason: reason.into(),
        }
    }

    /// Checks the shape: deposits have no source, withdrawals no target,
    /// transfers both (and distinct ones).
    ///
    /// # Errors
    /// [`LedgerError::Malformed`].
    pub fn check_shape(&self) -> Result<(), LedgerError> {
        let ok = match self.kind {
            EntryKind::Stake | EntryKind::Bond => self.from.is_none() && self.to.is_some(),
            EntryKind::Withdraw => self.from.is_some() && self.to.is_none(),
            _ => self.from.is_some() && self.to.is_some() && self.from != self.to,
        };
        if ok {
            Ok(())
        } else {
            Err(LedgerError::Malformed(format!(
                "{} from {:?} to {:?}",
                self.kind.as_str(),
                self.from,
                self.to
            )))
        }
    }
}

/// Why a movement cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The source account holds less than the amount.
    #[error("{account} holds {balance}, cannot move {amount}")]
    Insufficient {
        /// The source.
        account: String,
        /// Its balance.
        balance: u64,
        /// The amount asked for.
        amount: u64,
    },
    /// The entry's accounts do not fit its kind.
    #[error("malformed ledger entry: {0}")]
    Malformed(String),
}

/// Balances derived from entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    balances: BTreeMap<Account, u64>,
    deposited: u128,
    withdrawn: u128,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Ledger::default()
    }

    /// Replays `movements` in order.
    ///
    /// # Errors
    /// The first movement that cannot be applied.
    pub fn replay<'a>(
        movements: impl IntoIterator<Item = &'a Movement>,
    ) -> Result<Self, LedgerError> {
        let mut ledger = Ledger::new();
        for m in movements {
            ledger.apply(m)?;
        }
        Ok(ledger)
    }

    /// Applies one movement, or changes nothing and says why not.
    ///
    /// # Errors
    /// A malformed movement or an overdraft.
    pub fn apply(&mut self, m: &Movement) -> Result<(), LedgerError> {
        m.check_shape()?;
        if let Some(from) = &m.from {
            let balance = self.balance(from);
            if balance < m.amount {
                return Err(LedgerError::Insufficient {
                    account: from.to_string(),
                    balance,
                    amount: m.amount,
                });
            }
            self.balances.insert(from.clone(), balance - m.amount);
        } else {
            self.deposited += u128::from(m.amount);
        }
        match &m.to {
            Some(to) => *self.balances.entry(to.clone()).or_insert(0) += m.amount,
            None => self.withdrawn += u128::from(m.amount),
        }
        Ok(())
    }

    /// What `account` holds.
    pub fn balance(&self, account: &Account) -> u64 {
        self.balances.get(account).copied().unwrap_or(0)
    }

    /// Every account with its balance.
    pub fn balances(&self) -> &BTreeMap<Account, u64> {
        &self.balances
    }

    /// Σ deposits − Σ withdrawals: what the balances must add up to.
    pub fn expected_total(&self) -> u128 {
        self.deposited - self.withdrawn
    }

    /// Σ balances.
    pub fn total(&self) -> u128 {
        self.balances.values().map(|b| u128::from(*b)).sum()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn oracle(i: u8) -> Account {
        Account::Oracle(format!("enclave-{i}").parse().unwrap())
    }

    #[test]
    fn account_names_round_trip() {
        for a in [
            oracle(1),
            Account::Escrow("dsp_1".into()),
            Account::Challenger("0xab".into()),
            Account::Treasury,
        ] {
            assert_eq!(a.to_string().parse::<Account>().unwrap(), a);
        }
        assert!("oracle:".parse::<Account>().is_err());
        assert!("bank:x".parse::<Account>().is_err());
    }

    #[test]
    fn overdraft_is_refused_and_changes_nothing() {
        let mut l = Ledger::new();
        l.apply(&Movement::new(
            EntryKind::Stake,
            None,
            Some(oracle(1)),
            100,
            "s",
        ))
        .unwrap();
        let before = l.clone();
        let err = l
            .apply(&Movement::new(
                EntryKind::Slash,
                Some(oracle(1)),
                Some(Account::Treasury),
                101,
                "x",
            ))
            .unwrap_err();
        assert!(matches!(
            err,
            LedgerError::Insufficient { balance: 100, .. }
        ));
        assert_eq!(l, before);
    }

    #[test]
    fn shapes_are_checked() {
        let deposit_with_source = Movement::new(
            EntryKind::Bond,
            Some(oracle(1)),
            Some(Account::Treasury),
            1,
            "",
        );
        assert!(deposit_with_source.check_shape().is_err());
        let self_transfer =
            Movement::new(EntryKind::Slash, Some(oracle(1)), Some(oracle(1)), 1, "");
        assert!(self_transfer.check_shape().is_err());
    }

    fn any_account() -> impl Strategy<Value = Account> {
        prop_oneof![
            (0u8..4).prop_map(oracle),
            (0u8..3).prop_map(|i| Account::Escrow(format!("dsp_{i}"))),
            (0u8..3).prop_map(|i| Account::Challenger(format!("0x{i}"))),
            Just(Account::Treasury),
        ]
    }

    fn any_kind() -> impl Strategy<Value = EntryKind> {
        prop_oneof![
            Just(EntryKind::Stake),
            Just(EntryKind::Bond),
            Just(EntryKind::Slash),
            Just(EntryKind::Reward),
            Just(EntryKind::Refund),
            Just(EntryKind::Forfeit),
            Just(EntryKind::Withdraw),
        ]
    }

    fn any_movement() -> impl Strategy<Value = Movement> {
        (any_kind(), any_account(), any_account(), 0u64..2_000).prop_map(|(kind, a, b, amount)| {
            let (from, to) = match kind {
                EntryKind::Stake | EntryKind::Bond => (None, Some(b)),
                EntryKind::Withdraw => (Some(a), None),
                _ => (Some(a), Some(b)),
            };
            Movement::new(kind, from, to, amount, "random")
        })
    }

    proptest! {
        /// The conservation law holds after any sequence of operations,
        /// whether each one is accepted or refused.
        #[test]
        fn total_is_conserved(moves in proptest::collection::vec(any_movement(), 0..200)) {
            let mut l = Ledger::new();
            let mut accepted = Vec::new();
            for m in &moves {
                if l.apply(m).is_ok() {
                    accepted.push(m.clone());
                }
                prop_assert_eq!(l.total(), l.expected_total());
            }
            // Replaying only the accepted entries gives the same balances.
            prop_assert_eq!(Ledger::replay(&accepted).unwrap(), l);
        }
    }
}
