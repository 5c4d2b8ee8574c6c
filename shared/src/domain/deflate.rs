//! DEFLATE for status lists, chosen by the list's shape.
//!
//! The spec (§2.1) accepts any valid zlib stream and recommends the highest compression. Stock
//! zlib at level 9 is the reference every peer uses; it spends most of its time inserting every
//! byte of long zero runs into its hash chains, or searching long chains in dense lists. Measured
//! on the benchmark lists (1, 2 and 8 bits; 0.1 % to 50 % non-VALID; 100,000 and 2^20 entries;
//! `make bench` prints the comparison), no single encoder is both faster and no larger than zlib
//! level 9 everywhere, but one per shape is:
//!
//! | list shape (density of non-VALID entries) | encoder |
//! |---|---|
//! | under 4 KiB packed (32,768 1-bit entries) | zlib level 9 itself: well under 0.1 ms, the spec's bytes |
//! | very sparse (< 0.3 %) | zlib-rs level 9, 32 KiB window |
//! | sparse (< 5 %), or 4/8-bit below 20 % | zlib-rs level 9, 4 KiB window |
//! | dense, 1/2-bit, below 30 % | zlib-rs, run-length strategy |
//! | dense, 1/2-bit, 30 % and over (near random) | libdeflate level 1 |
//! | dense, 4/8-bit, 20 % and over | libdeflate level 10 (near-optimal parsing) |
//!
//! Each choice is also no larger than zlib level 9 on 40 other random lists of its shape (a
//! run-length stream, which is faster still on very sparse 1-bit lists, was up to 2 % larger
//! there). The density is estimated from the share of non-zero bytes in one pass over the array, which is
//! cheap beside any of the encoders. Every choice writes a standard zlib stream (RFC 1950), which
//! [`super::status_list::StatusList::decompress`] and every verifier decode.

use std::io::Write;

use flate2::{Compression, write::ZlibEncoder};

use super::status::Bits;

/// Below this packed size the reference encoder is used: it takes well under 0.1 ms there, and
/// the faster encoders' fixed costs (and libdeflate level 1's stored blocks) can make a tiny list
/// larger than zlib level 9 makes it.
pub const SMALL_LIST_BYTES: usize = 4096;

/// The encoders the shapes above map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoder {
    /// The reference: system zlib at level 9 (byte-identical to the spec's vectors).
    Zlib9,
    /// zlib-rs with the run-length strategy: matches at distance one only, no hash chains.
    Runs,
    /// zlib-rs at level 9 (lazy matching, long chains) with a window of `2^window_bits` bytes.
    Lazy { window_bits: u8 },
    /// libdeflate at the given level (1 = greedy and fast; 10 = near-optimal parsing).
    Libdeflate { level: u8 },
}

impl Encoder {
    /// The encoder for a packed list of `bits`-bit entries.
    pub fn for_list(bits: Bits, bytes: &[u8]) -> Encoder {
        if bytes.len() < SMALL_LIST_BYTES {
            return Encoder::Zlib9;
        }
        let density = entry_density(bits, bytes);
        let narrow = bits.get() <= 2;
        if density < 0.003 {
            Encoder::Lazy { window_bits: 15 }
        } else if density < 0.05 || (!narrow && density < 0.2) {
            Encoder::Lazy { window_bits: 12 }
        } else if !narrow {
            Encoder::Libdeflate { level: 10 }
        } else if density < 0.3 {
            Encoder::Runs
        } else {
            Encoder::Libdeflate { level: 1 }
        }
    }

    /// A zlib stream (RFC 1950) of `bytes`.
    pub fn compress(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Encoder::Zlib9 => compress_level9(bytes),
            Encoder::Runs => zlib_rs_compress(bytes, 15, zlib_rs::Strategy::Rle),
            Encoder::Lazy { window_bits } => zlib_rs_compress(bytes, window_bits, zlib_rs::Strategy::Default),
            Encoder::Libdeflate { level } => {
                let level = libdeflater::CompressionLvl::new(i32::from(level))
                    .expect("levels used here are within libdeflate's 0..=12");
                let mut compressor = libdeflater::Compressor::new(level);
                let mut out = vec![0; compressor.zlib_compress_bound(bytes.len())];
                let written = compressor
                    .zlib_compress(bytes, &mut out)
                    .expect("the output buffer is libdeflate's own bound");
                out.truncate(written);
                out
            }
        }
    }

    /// A short name for reports (`make bench`).
    pub fn name(self) -> String {
        match self {
            Encoder::Zlib9 => "zlib 9".into(),
            Encoder::Runs => "zlib-rs rle".into(),
            Encoder::Lazy { window_bits } => format!("zlib-rs 9 w{window_bits}"),
            Encoder::Libdeflate { level } => format!("libdeflate {level}"),
        }
    }
}

/// Compresses a packed list of `bits`-bit entries with the encoder for its shape.
pub fn compress(bits: Bits, bytes: &[u8]) -> Vec<u8> {
    Encoder::for_list(bits, bytes).compress(bytes)
}

/// The estimated share of non-zero entries: a byte holding `k` entries, each non-zero with
/// probability `p`, is non-zero with probability `1 - (1 - p)^k`.
fn entry_density(bits: Bits, bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let non_zero = bytes.iter().filter(|b| **b != 0).count() as f64 / bytes.len() as f64;
    let per_byte = bits.per_byte() as f64;
    1.0 - (1.0 - non_zero).powf(1.0 / per_byte)
}

fn zlib_rs_compress(bytes: &[u8], window_bits: u8, strategy: zlib_rs::Strategy) -> Vec<u8> {
    let mut config = zlib_rs::DeflateConfig::new(9);
    config.window_bits = i32::from(window_bits);
    config.strategy = strategy;
    let mut out = vec![0; zlib_rs::compress_bound(bytes.len())];
    let (written, code) = zlib_rs::compress_slice(&mut out, bytes, config);
    assert_eq!(
        code,
        zlib_rs::ReturnCode::Ok,
        "zlib-rs with a valid configuration and its own output bound cannot fail"
    );
    let len = written.len();
    out.truncate(len);
    out
}

/// Stock zlib (the system library) at level 9: the reference every peer uses, and what the
/// benchmark measures our encoder against. It reproduces the spec's compressed bytes exactly.
pub fn compress_level9(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(bytes.len() / 64 + 64), Compression::best());
    encoder.write_all(bytes).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::status::Status;
    use crate::domain::status_list::{MAX_LIST_BYTES, StatusList};
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn random_list(bits: Bits, size: u64, share: f64, seed: u64) -> StatusList {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut list = StatusList::new(bits, size).unwrap();
        for _ in 0..(size as f64 * share) as u64 {
            let value = rng.gen_range(1..=bits.max_value().min(3));
            list.set(rng.gen_range(0..size), Status::from_raw(value)).unwrap();
        }
        list
    }

    #[test]
    fn every_encoder_round_trips_every_shape() {
        let encoders = [
            Encoder::Zlib9,
            Encoder::Runs,
            Encoder::Lazy { window_bits: 15 },
            Encoder::Lazy { window_bits: 12 },
            Encoder::Libdeflate { level: 1 },
            Encoder::Libdeflate { level: 10 },
        ];
        for bits in [Bits::ONE, Bits::TWO, Bits::FOUR, Bits::EIGHT] {
            for share in [0.0, 0.001, 0.02, 0.1, 0.25, 0.5, 1.0] {
                let list = random_list(bits, 20_000, share, 7);
                for encoder in encoders {
                    let z = encoder.compress(list.as_bytes());
                    let back = StatusList::decompress(bits, &z, MAX_LIST_BYTES).unwrap();
                    assert_eq!(back.as_bytes(), list.as_bytes(), "{encoder:?} {bits:?} {share}");
                }
            }
        }
    }

    #[test]
    fn density_follows_the_share_of_set_entries() {
        for bits in [Bits::ONE, Bits::TWO, Bits::EIGHT] {
            for share in [0.001, 0.01, 0.1] {
                let list = random_list(bits, 1 << 20, share, 3);
                let distinct = list.non_valid().count() as f64 / list.size() as f64;
                let estimate = entry_density(bits, list.as_bytes());
                assert!(
                    (estimate - distinct).abs() < distinct * 0.05,
                    "{bits:?} {share}: {estimate}"
                );
            }
        }
        assert_eq!(entry_density(Bits::ONE, &[0; 16]), 0.0);
        assert_eq!(entry_density(Bits::ONE, &[]), 0.0);
    }

    #[test]
    fn shapes_map_to_their_encoders() {
        let pick = |bits, share| Encoder::for_list(bits, random_list(bits, 100_000, share, 1).as_bytes());
        assert_eq!(pick(Bits::ONE, 0.001), Encoder::Lazy { window_bits: 15 });
        assert_eq!(pick(Bits::TWO, 0.001), Encoder::Lazy { window_bits: 15 });
        assert_eq!(pick(Bits::TWO, 0.01), Encoder::Lazy { window_bits: 12 });
        assert_eq!(pick(Bits::EIGHT, 0.1), Encoder::Lazy { window_bits: 12 });
        assert_eq!(pick(Bits::TWO, 0.1), Encoder::Runs);
        assert_eq!(pick(Bits::ONE, 0.5), Encoder::Libdeflate { level: 1 });
        assert_eq!(pick(Bits::EIGHT, 0.5), Encoder::Libdeflate { level: 10 });
        let small = random_list(Bits::ONE, 8 * 4095, 0.5, 1);
        assert_eq!(Encoder::for_list(Bits::ONE, small.as_bytes()), Encoder::Zlib9);
    }
}
