//! The mDoc API's credential status values and the rules for changing them: `valid` and
//! `suspended` move freely between each other, `invalid` is final, and `suspended` needs a list
//! of at least two bits.

use serde::{Deserialize, Serialize};

use crate::domain::status::{Bits, Status};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MdocStatus {
    Valid,
    Suspended,
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the credential is invalid, which is final: its status cannot change")]
    Final,
    #[error("suspended is not available: the credential's status list has 1 bit per entry")]
    SuspendedNeedsTwoBits,
}

impl MdocStatus {
    /// The value stored in the status list.
    pub fn status(self) -> Status {
        match self {
            MdocStatus::Valid => Status::VALID,
            MdocStatus::Suspended => Status::SUSPENDED,
            MdocStatus::Invalid => Status::INVALID,
        }
    }

    /// The API's name of the status (its JSON value).
    pub fn name(self) -> &'static str {
        match self {
            MdocStatus::Valid => "valid",
            MdocStatus::Suspended => "suspended",
            MdocStatus::Invalid => "invalid",
        }
    }

    /// The API value of a stored status (application-specific values read as `invalid`: they
    /// are not VALID, and the API has no name for them).
    pub fn from_status(status: Status) -> MdocStatus {
        match status {
            Status::VALID => MdocStatus::Valid,
            Status::SUSPENDED => MdocStatus::Suspended,
            _ => MdocStatus::Invalid,
        }
    }

    /// Whether the change `self -> to` is allowed on a list of `bits`. Setting the current value
    /// again is allowed (idempotent), `invalid` included.
    pub fn check_transition(self, to: MdocStatus, bits: Bits) -> Result<(), TransitionError> {
        if to == MdocStatus::Suspended && bits.get() < 2 {
            return Err(TransitionError::SuspendedNeedsTwoBits);
        }
        match (self, to) {
            (MdocStatus::Invalid, MdocStatus::Invalid) => Ok(()),
            (MdocStatus::Invalid, _) => Err(TransitionError::Final),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MdocStatus::*;
    use super::*;

    #[test]
    fn valid_suspended_valid_invalid_then_nothing() {
        let two = Bits::new(2).unwrap();
        let path = [Valid, Suspended, Valid, Invalid];
        for pair in path.windows(2) {
            assert_eq!(pair[0].check_transition(pair[1], two), Ok(()), "{pair:?}");
        }
        assert_eq!(Suspended.check_transition(Invalid, two), Ok(()));
        assert_eq!(Invalid.check_transition(Valid, two), Err(TransitionError::Final));
        assert_eq!(Invalid.check_transition(Suspended, two), Err(TransitionError::Final));
        assert_eq!(Invalid.check_transition(Invalid, two), Ok(()));
    }

    #[test]
    fn one_bit_lists_cannot_suspend() {
        let one = Bits::new(1).unwrap();
        assert_eq!(
            Valid.check_transition(Suspended, one),
            Err(TransitionError::SuspendedNeedsTwoBits)
        );
        assert_eq!(Valid.check_transition(Invalid, one), Ok(()));
    }

    #[test]
    fn wire_names_and_stored_values() {
        assert_eq!(serde_json::to_string(&Suspended).unwrap(), "\"suspended\"");
        assert!(serde_json::from_str::<MdocStatus>("\"revoked\"").is_err());
        assert!(serde_json::from_str::<MdocStatus>("\"Valid\"").is_err());
        for s in [Valid, Suspended, Invalid] {
            assert_eq!(MdocStatus::from_status(s.status()), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.name()));
        }
    }
}
