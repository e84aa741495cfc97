//! Randomness is injected too: identifiers, tokens and serials draw from an [`Entropy`], which
//! is the operating system's generator in production and a seeded one in tests.

use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

pub trait Entropy: Send + Sync + 'static {
    fn fill(&self, dest: &mut [u8]);

    fn u64(&self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    /// A fresh generator seeded from this source, for code that wants a `rand::Rng`.
    fn rng(&self) -> ChaCha20Rng {
        let mut seed = [0u8; 32];
        self.fill(&mut seed);
        ChaCha20Rng::from_seed(seed)
    }
}

/// The operating system's generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, dest: &mut [u8]) {
        rand::rng().fill_bytes(dest);
    }
}

/// A deterministic generator for tests and reproducible demos.
#[derive(Debug)]
pub struct SeededEntropy(Mutex<ChaCha20Rng>);

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        SeededEntropy(Mutex::new(ChaCha20Rng::seed_from_u64(seed)))
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, dest: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fill_bytes(dest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic() {
        let a = SeededEntropy::new(42);
        let b = SeededEntropy::new(42);
        assert_eq!(a.u64(), b.u64());
        assert_ne!(OsEntropy.u64(), OsEntropy.u64());
    }
}
