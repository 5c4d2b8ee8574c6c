//! The clock, in one place. The services take the time as an argument (`now`, seconds since the
//! epoch), so their tests set it; the handlers, the Lambda and local loops, the CLI and the
//! drivers read it here.

/// Seconds since the epoch (0 for a clock set before it).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_this_code_was_written() {
        // 2026-01-01T00:00:00Z: a clock reading 0 or the 1970s is a broken one.
        assert!(super::now() > 1_767_225_600);
    }
}
