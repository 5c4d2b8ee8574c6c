//! The Status List byte array (spec §2.1): fixed size, `bits` per entry, packed LSB-first,
//! compressed as a zlib stream (DEFLATE in the RFC 1950 container) by the encoder for the list's
//! shape ([`super::deflate`]); decoded from any valid zlib stream, with a bound.

use std::io::Read;

use flate2::read::ZlibDecoder;

use super::status::{Bits, Status, StatusError};

/// Upper bound on a list's uncompressed size. 64 MiB holds 512 Mi one-bit entries or 64 Mi
/// eight-bit entries, far above any real deployment (the spec's vectors use 2^20), and keeps a
/// hostile token ("zlib bomb") from making a decoder allocate without limit.
pub const MAX_LIST_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: Bits,
    size: u64,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusList")
            .field("bits", &self.bits)
            .field("size", &self.size)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListDecodeError {
    #[error("status list is not a valid zlib stream: {0}")]
    Zlib(String),
    #[error("status list decompresses to more than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("status list is empty")]
    Empty,
}

impl StatusList {
    /// A list of `size` entries, all VALID (the spec's recommended default fill, §10.4).
    pub fn new(bits: Bits, size: u64) -> Result<Self, StatusError> {
        if size == 0 {
            return Err(StatusError::EmptyList);
        }
        let per_byte = bits.per_byte() as u64;
        let len = size.div_ceil(per_byte);
        if len > MAX_LIST_BYTES as u64 {
            return Err(StatusError::TooLarge {
                size,
                bits,
                limit: MAX_LIST_BYTES,
            });
        }
        Ok(StatusList {
            bits,
            size,
            bytes: vec![0; len as usize],
        })
    }

    /// Wraps an uncompressed byte array. Every slot in the array is an entry, so the size is
    /// `len * 8 / bits` (a longer array only adds unused indices, spec §2.1).
    pub fn from_bytes(bits: Bits, bytes: Vec<u8>) -> Result<Self, StatusError> {
        if bytes.is_empty() {
            return Err(StatusError::EmptyList);
        }
        let size = bytes.len() as u64 * bits.per_byte() as u64;
        Ok(StatusList { bits, size, bytes })
    }

    pub fn bits(&self) -> Bits {
        self.bits
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The packed, uncompressed array.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn locate(&self, index: u64) -> Result<(usize, u32), StatusError> {
        if index >= self.size {
            return Err(StatusError::IndexOutOfRange { index, size: self.size });
        }
        let per_byte = self.bits.per_byte() as u64;
        let byte = (index / per_byte) as usize;
        let shift = ((index % per_byte) as u32) * u32::from(self.bits.get());
        Ok((byte, shift))
    }

    pub fn get(&self, index: u64) -> Result<Status, StatusError> {
        let (byte, shift) = self.locate(index)?;
        Ok(Status::from_raw((self.bytes[byte] >> shift) & self.bits.max_value()))
    }

    pub fn set(&mut self, index: u64, status: Status) -> Result<(), StatusError> {
        if status.value() > self.bits.max_value() {
            return Err(StatusError::ValueTooWide {
                status,
                bits: self.bits,
                needed: status.min_bits(),
            });
        }
        let (byte, shift) = self.locate(index)?;
        let mask = self.bits.max_value() << shift;
        self.bytes[byte] = (self.bytes[byte] & !mask) | (status.value() << shift);
        Ok(())
    }

    /// Every entry that is not VALID, in index order. Skips zero bytes, so it is fast on the
    /// sparse lists real deployments have.
    pub fn non_valid(&self) -> impl Iterator<Item = (u64, Status)> + '_ {
        let bits = self.bits;
        let per_byte = bits.per_byte() as u64;
        let size = self.size;
        self.bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b != 0)
            .flat_map(move |(i, &b)| {
                (0..per_byte).filter_map(move |slot| {
                    let index = i as u64 * per_byte + slot;
                    let value = (b >> (slot as u32 * u32::from(bits.get()))) & bits.max_value();
                    (value != 0 && index < size).then(|| (index, Status::from_raw(value)))
                })
            })
    }

    /// A zlib stream of the packed array, from the encoder measured fastest for the list's
    /// shape among those whose output is no larger than zlib level 9's ([`super::deflate`]).
    pub fn compress(&self) -> Vec<u8> {
        super::deflate::compress(self.bits, &self.bytes)
    }

    /// Decompresses any valid zlib stream, refusing to produce more than `limit` bytes.
    pub fn decompress(bits: Bits, compressed: &[u8], limit: usize) -> Result<Self, ListDecodeError> {
        let mut out = Vec::new();
        let mut decoder = ZlibDecoder::new(compressed).take(limit as u64 + 1);
        decoder
            .read_to_end(&mut out)
            .map_err(|e| ListDecodeError::Zlib(e.to_string()))?;
        if out.len() > limit {
            return Err(ListDecodeError::TooLarge { limit });
        }
        if decoder.into_inner().total_in() == 0 {
            return Err(ListDecodeError::Zlib("no zlib data".into()));
        }
        StatusList::from_bytes(bits, out).map_err(|_| ListDecodeError::Empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(bits: u8, values: &[u8]) -> StatusList {
        let mut l = StatusList::new(Bits::new(bits).unwrap(), values.len() as u64).unwrap();
        for (i, v) in values.iter().enumerate() {
            l.set(i as u64, Status::from_raw(*v)).unwrap();
        }
        l
    }

    #[test]
    fn packs_lsb_first() {
        let l = list(1, &[1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
        assert_eq!(l.as_bytes(), &[0xB9, 0xA3]);
        let l = list(2, &[1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]);
        assert_eq!(l.as_bytes(), &[0xC9, 0x44, 0xF9]);
        let l = list(4, &[0xF, 0x1]);
        assert_eq!(l.as_bytes(), &[0x1F]);
    }

    #[test]
    fn out_of_range_is_an_error() {
        let mut l = StatusList::new(Bits::TWO, 10).unwrap();
        assert_eq!(l.size(), 10);
        assert_eq!(l.as_bytes().len(), 3);
        assert_eq!(l.get(10), Err(StatusError::IndexOutOfRange { index: 10, size: 10 }));
        assert!(l.set(u64::MAX, Status::INVALID).is_err());
        assert!(l.set(9, Status::SUSPENDED).is_ok());
    }

    #[test]
    fn value_must_fit_bits() {
        let mut l = StatusList::new(Bits::ONE, 8).unwrap();
        assert_eq!(
            l.set(0, Status::SUSPENDED),
            Err(StatusError::ValueTooWide {
                status: Status::SUSPENDED,
                bits: Bits::ONE,
                needed: Bits::TWO
            })
        );
        let mut l = StatusList::new(Bits::TWO, 8).unwrap();
        assert!(l.set(0, Status::assignable(0x0C).unwrap()).is_err());
        assert_eq!(l.get(0).unwrap(), Status::VALID, "a refused set leaves the entry alone");
    }

    #[test]
    fn empty_and_huge_lists_are_refused() {
        assert_eq!(StatusList::new(Bits::ONE, 0), Err(StatusError::EmptyList));
        assert!(matches!(
            StatusList::new(Bits::EIGHT, u64::MAX),
            Err(StatusError::TooLarge { .. })
        ));
    }

    #[test]
    fn decompression_is_bounded() {
        let big = StatusList::new(Bits::EIGHT, 1 << 20).unwrap().compress();
        assert!(big.len() < 2048, "a megabyte of zeros compresses to ~1 KB");
        assert_eq!(
            StatusList::decompress(Bits::EIGHT, &big, 1 << 19),
            Err(ListDecodeError::TooLarge { limit: 1 << 19 })
        );
        assert_eq!(
            StatusList::decompress(Bits::EIGHT, &big, 1 << 20).unwrap().size(),
            1 << 20
        );
    }

    #[test]
    fn malformed_zlib_is_an_error() {
        for bad in [&b""[..], b"not zlib", &[0x78, 0xda, 0xff, 0xff]] {
            assert!(matches!(
                StatusList::decompress(Bits::ONE, bad, MAX_LIST_BYTES),
                Err(ListDecodeError::Zlib(_) | ListDecodeError::Empty)
            ));
        }
        let mut good = list(1, &[1; 16]).compress();
        let last = good.len() - 1;
        good[last] ^= 0xFF; // corrupt the Adler-32 trailer
        assert!(matches!(
            StatusList::decompress(Bits::ONE, &good, MAX_LIST_BYTES),
            Err(ListDecodeError::Zlib(_))
        ));
    }

    #[test]
    fn non_valid_lists_every_set_entry() {
        let mut l = StatusList::new(Bits::TWO, 1000).unwrap();
        l.set(0, Status::INVALID).unwrap();
        l.set(517, Status::SUSPENDED).unwrap();
        l.set(999, Status::INVALID).unwrap();
        let found: Vec<_> = l.non_valid().collect();
        assert_eq!(
            found,
            vec![(0, Status::INVALID), (517, Status::SUSPENDED), (999, Status::INVALID)]
        );
    }
}
