//! Status values (spec §6) and the bit widths a Status List may use (spec §2.1).

use std::fmt;

/// Bits per entry: 1, 2, 4 or 8 (spec §2.1). An entry never spans two bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bits(u8);

impl Bits {
    pub const ONE: Bits = Bits(1);
    pub const TWO: Bits = Bits(2);
    pub const FOUR: Bits = Bits(4);
    pub const EIGHT: Bits = Bits(8);

    pub fn new(bits: u8) -> Result<Self, StatusError> {
        match bits {
            1 | 2 | 4 | 8 => Ok(Bits(bits)),
            other => Err(StatusError::InvalidBits(u64::from(other))),
        }
    }

    /// Parses a `bits` value as found in a token (any integer type).
    pub fn from_u64(bits: u64) -> Result<Self, StatusError> {
        u8::try_from(bits)
            .map_err(|_| StatusError::InvalidBits(bits))
            .and_then(|b| Bits::new(b).map_err(|_| StatusError::InvalidBits(bits)))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Entries per byte: 8, 4, 2 or 1.
    pub fn per_byte(self) -> usize {
        8 / usize::from(self.0)
    }

    /// The largest value an entry of this width can hold.
    pub fn max_value(self) -> u8 {
        ((1u16 << self.0) - 1) as u8
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One entry's value. Decoding yields whatever byte value the list holds (reserved ones
/// included); building a list only accepts registered values (see [`Status::assignable`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Status(u8);

impl Status {
    pub const VALID: Status = Status(0x00);
    pub const INVALID: Status = Status(0x01);
    pub const SUSPENDED: Status = Status(0x02);

    /// Any value read from a list, including values reserved for future registration.
    pub fn from_raw(value: u8) -> Self {
        Status(value)
    }

    /// A value an issuer may set: VALID, INVALID, SUSPENDED or an application-specific value
    /// (0x03, 0x0C-0x0F). Everything else is reserved for the IANA "OAuth Status Types" registry.
    pub fn assignable(value: u8) -> Result<Self, StatusError> {
        match value {
            0x00..=0x03 | 0x0C..=0x0F => Ok(Status(value)),
            other => Err(StatusError::ReservedValue(other)),
        }
    }

    /// Parses a name (`VALID`, `invalid`, `suspended`) or a number (`1`, `0x0c`).
    pub fn parse(text: &str) -> Result<Self, StatusError> {
        let t = text.trim();
        let named = [
            ("VALID", Status::VALID),
            ("INVALID", Status::INVALID),
            ("REVOKED", Status::INVALID),
            ("SUSPENDED", Status::SUSPENDED),
        ];
        if let Some((_, status)) = named.iter().find(|(name, _)| t.eq_ignore_ascii_case(name)) {
            return Ok(*status);
        }
        let parsed = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            u8::from_str_radix(hex, 16)
        } else {
            t.parse::<u8>()
        };
        parsed
            .map_err(|_| StatusError::UnknownName(text.to_string()))
            .and_then(Status::assignable)
    }

    pub fn value(self) -> u8 {
        self.0
    }

    pub fn is_valid(self) -> bool {
        self == Status::VALID
    }

    /// The registry name: VALID, INVALID, SUSPENDED, APPLICATION_SPECIFIC or RESERVED.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x00 => "VALID",
            0x01 => "INVALID",
            0x02 => "SUSPENDED",
            0x03 | 0x0C..=0x0F => "APPLICATION_SPECIFIC",
            _ => "RESERVED",
        }
    }

    /// The narrowest `bits` that can hold this value.
    pub fn min_bits(self) -> Bits {
        match self.0 {
            0..=1 => Bits::ONE,
            2..=3 => Bits::TWO,
            4..=15 => Bits::FOUR,
            _ => Bits::EIGHT,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            "APPLICATION_SPECIFIC" | "RESERVED" => write!(f, "{} (0x{:02X})", self.name(), self.0),
            name => f.write_str(name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("bits must be 1, 2, 4 or 8, got {0}")]
    InvalidBits(u64),
    #[error("status value 0x{0:02X} is reserved; use 0x00-0x03 or 0x0C-0x0F")]
    ReservedValue(u8),
    #[error("unknown status {0:?}; use VALID, INVALID, SUSPENDED or a number")]
    UnknownName(String),
    #[error("status {status} needs at least {needed} bits, but the list has {bits}")]
    ValueTooWide { status: Status, bits: Bits, needed: Bits },
    #[error("index {index} is out of range for a list of {size} entries")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a list needs at least one entry")]
    EmptyList,
    #[error("a list of {size} entries at {bits} bits is larger than the {limit} byte limit")]
    TooLarge { size: u64, bits: Bits, limit: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_restricted() {
        for b in [1, 2, 4, 8] {
            assert_eq!(Bits::new(b).unwrap().get(), b);
        }
        for b in [0, 3, 5, 7, 16] {
            assert_eq!(Bits::new(b), Err(StatusError::InvalidBits(u64::from(b))));
        }
        assert_eq!(Bits::from_u64(257), Err(StatusError::InvalidBits(257)));
    }

    #[test]
    fn names_and_assignable_values() {
        assert_eq!(Status::parse("valid").unwrap(), Status::VALID);
        assert_eq!(Status::parse("INVALID").unwrap(), Status::INVALID);
        assert_eq!(Status::parse("suspended").unwrap(), Status::SUSPENDED);
        assert_eq!(Status::parse("0x0c").unwrap().value(), 0x0C);
        assert_eq!(Status::parse("3").unwrap().name(), "APPLICATION_SPECIFIC");
        assert_eq!(Status::parse("0x0B"), Err(StatusError::ReservedValue(0x0B)));
        assert_eq!(Status::parse("4"), Err(StatusError::ReservedValue(4)));
        assert!(matches!(Status::parse("gone"), Err(StatusError::UnknownName(_))));
        assert_eq!(Status::from_raw(0x40).name(), "RESERVED");
        assert_eq!(Status::from_raw(0x0F).min_bits(), Bits::FOUR);
        assert_eq!(Status::SUSPENDED.min_bits(), Bits::TWO);
    }
}
