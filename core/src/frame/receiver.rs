//! The receiving side: keys by KID, a replay window and a count of
//! authentication failures per key, and senders followed along the §5.1
//! ratchet.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher, RandomState};

use super::aead::FrameCipher;
use super::error::Error;
use super::header::{Header, Kid};
use super::key::{BaseKey, derive_key_salt};
use super::ratchet::RatchetLayout;
use super::replay::{MAX_REPLAY_WINDOW, ReplayWindow};
use super::sender::join_aad;
use super::suite::CipherSuite;

/// Receiver limits.
///
/// ```
/// use callseal_core::frame::ReceiverConfig;
///
/// let config = ReceiverConfig { replay_window: 256, ..ReceiverConfig::default() };
/// assert_eq!(config.max_ratchet_steps, 16);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// Frames per key remembered for replay detection (1..=65536): a frame
    /// may arrive this many counters late and still be accepted once.
    pub replay_window: u32,
    /// How many ratchet steps ahead a frame may be and still be followed.
    pub max_ratchet_steps: u32,
    /// Keys of a ratcheting sender kept, the newest included, for frames
    /// that arrive after the sender moved on: the keys of the last
    /// `retained_ratchet_keys` steps. The key that was current before the
    /// latest advance is always kept too, however far that advance jumped.
    pub retained_ratchet_keys: u32,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            replay_window: 1024,
            max_ratchet_steps: 16,
            retained_ratchet_keys: 8,
        }
    }
}

impl ReceiverConfig {
    /// This configuration with each out-of-range field set to its default.
    fn sanitized(self) -> Self {
        let d = Self::default();
        let pick = |ok: bool, v: u32, default: u32| if ok { v } else { default };
        Self {
            replay_window: pick(
                (1..=MAX_REPLAY_WINDOW).contains(&self.replay_window),
                self.replay_window,
                d.replay_window,
            ),
            max_ratchet_steps: pick(
                (1..=MAX_RATCHET_STEPS).contains(&self.max_ratchet_steps),
                self.max_ratchet_steps,
                d.max_ratchet_steps,
            ),
            retained_ratchet_keys: pick(
                (1..=64).contains(&self.retained_ratchet_keys),
                self.retained_ratchet_keys,
                d.retained_ratchet_keys,
            ),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        if !(1..=MAX_REPLAY_WINDOW).contains(&self.replay_window) {
            return Err(Error::InvalidConfig("replay_window must be 1..=65536"));
        }
        if !(1..=MAX_RATCHET_STEPS).contains(&self.max_ratchet_steps) {
            return Err(Error::InvalidConfig("max_ratchet_steps must be 1..=64"));
        }
        if !(1..=64).contains(&self.retained_ratchet_keys) {
            return Err(Error::InvalidConfig("retained_ratchet_keys must be 1..=64"));
        }
        Ok(())
    }
}

/// The largest [`ReceiverConfig::max_ratchet_steps`]: each step ahead a
/// follower may have to derive (once) costs a key schedule and memory.
pub const MAX_RATCHET_STEPS: u32 = 64;

struct KeyEntry {
    suite: CipherSuite,
    cipher: FrameCipher,
    window: ReplayWindow,
    /// Authentication failures this key still tolerates: starts at the
    /// suite's [`forgery_limit`](CipherSuite::forgery_limit), counts down on
    /// each failure; at 0 the key is refused. Counting down keeps the
    /// success path to one compare with zero.
    failures_left: u64,
    /// Unique per key installed in this receiver (see
    /// [`ExternalOpen::key_serial`](super::ExternalOpen::key_serial)).
    serial: u64,
}

impl KeyEntry {
    /// Limit check, replay check, AEAD open, then the window records the
    /// counter; a failed AEAD open is counted against the key.
    fn open(
        &mut self,
        header: &Header,
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        self.usable(header.kid)?;
        self.window.check(header.kid, header.ctr)?;
        if let Err(err) = self.cipher.open(header.ctr, aad, buf, tag) {
            return Err(self.failed(err));
        }
        self.window.accept(header.ctr);
        Ok(())
    }

    /// [`Error::AuthFailureLimit`] once the key has used up its failures.
    #[inline]
    fn usable(&self, kid: Kid) -> Result<(), Error> {
        if self.failures_left == 0 {
            return Err(Error::AuthFailureLimit {
                kid,
                limit: self.suite.forgery_limit(),
            });
        }
        Ok(())
    }

    /// Counts an authentication failure (only that: a frame refused for its
    /// length proved nothing about the key) and passes `err` on.
    #[cold]
    #[inline(never)]
    fn failed(&mut self, err: Error) -> Error {
        if matches!(err, Error::AuthenticationFailed) {
            self.failures_left = self.failures_left.saturating_sub(1);
        }
        err
    }

    /// Authentication failures counted under this key.
    fn auth_failures(&self) -> u64 {
        self.suite
            .forgery_limit()
            .saturating_sub(self.failures_left)
    }
}

/// Hashes KIDs for the key map: one folded 64×64→128-bit multiply of the KID
/// XOR a per-receiver random seed (the foldhash construction), a few cycles
/// where SipHash took ~10 ns a frame. Peers choose the KIDs looked up but
/// only the application inserts keys, so no peer can build long probe
/// sequences; the seed keeps bucket positions unpredictable anyway.
#[derive(Clone)]
struct KidHash {
    seed: u64,
}

impl KidHash {
    fn new() -> Self {
        Self {
            seed: RandomState::new().hash_one(0u64),
        }
    }
}

impl BuildHasher for KidHash {
    type Hasher = KidHasher;

    fn build_hasher(&self) -> KidHasher {
        KidHasher(self.seed)
    }
}

struct KidHasher(u64);

impl KidHasher {
    fn mix(&mut self, v: u64) {
        let p = u128::from(self.0 ^ v) * 0x9e37_79b9_7f4a_7c15u128;
        self.0 = (p as u64) ^ ((p >> 64) as u64);
    }
}

impl Hasher for KidHasher {
    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    /// Not used by [`Kid`] (which hashes as one `u64`); correct for any input.
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = *b;
            }
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

struct Follower {
    suite: CipherSuite,
    layout: RatchetLayout,
    generation: u64,
    step: u64,
    base: BaseKey,
    /// (step, KID) of the keys installed for this sender, oldest first; the
    /// last is `step`'s.
    kids: VecDeque<(u64, Kid)>,
    /// Keys of the steps after `step`: `lookahead[j]` is step `step + j + 1`'s
    /// base key and, once a frame asked for it, its keyed cipher. Derived at
    /// most once each, so forged frames with far-ahead KIDs cost one AEAD
    /// check, not a key-chain derivation each. At most `max_ratchet_steps`.
    lookahead: Vec<(BaseKey, Option<KeyEntry>)>,
}

/// Decrypts frames: a key store by KID with a replay window per key.
///
/// A frame is checked against the window first, authenticated second, and
/// recorded in the window only once it authenticated, so forged frames
/// cannot poison the window.
///
/// Each key counts the frames that failed authentication under it
/// ([`auth_failures`](Self::auth_failures)); once the count reaches its
/// suite's [`forgery_limit`](CipherSuite::forgery_limit) the key is refused
/// with [`Error::AuthFailureLimit`] until a new key is installed for its KID
/// (RFC 9605 §7.5, docs/PROTOCOL.md §1.6). Keys of a followed ratcheting
/// sender count alike, the steps ahead not yet committed included.
///
/// ```
/// use callseal_core::frame::{BaseKey, CipherSuite, Error, Kid, Receiver, ReceiverConfig, Sender};
///
/// let suite = CipherSuite::AesGcm256Sha512;
/// let mut sender = Sender::new(suite, Kid(9), BaseKey::new(&[5; 32])?)?;
/// let mut receiver = Receiver::new(ReceiverConfig::default());
/// receiver.add_key(Kid(9), suite, BaseKey::new(&[5; 32])?)?;
///
/// let frame = sender.encrypt(b"", b"video")?;
/// assert_eq!(receiver.decrypt(b"", &frame)?, b"video");
/// assert!(matches!(receiver.decrypt(b"", &frame), Err(Error::Replay { .. })));
/// # Ok::<(), callseal_core::frame::Error>(())
/// ```
pub struct Receiver {
    config: ReceiverConfig,
    keys: HashMap<Kid, KeyEntry, KidHash>,
    followers: Vec<Follower>,
    aad: Vec<u8>,
    /// The serial of the last key installed.
    serials: u64,
}

impl core::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut kids: Vec<_> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("Receiver")
            .field("config", &self.config)
            .field("kids", &kids)
            .field("keys", &"[redacted]")
            .finish()
    }
}

impl Receiver {
    /// An empty receiver. Each out-of-range field of `config` is replaced
    /// by its default, the others are kept; use
    /// [`with_config`](Self::with_config) to be told instead.
    pub fn new(config: ReceiverConfig) -> Self {
        Self::empty(config.sanitized())
    }

    /// An empty receiver with a validated configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a value out of range.
    pub fn with_config(config: ReceiverConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self::empty(config))
    }

    fn empty(config: ReceiverConfig) -> Self {
        Self {
            config,
            keys: HashMap::with_hasher(KidHash::new()),
            followers: Vec::new(),
            aad: Vec::with_capacity(64),
            serials: 0,
        }
    }

    /// Installs the key for `kid`, replacing any key it had (the replay
    /// window and the count of authentication failures start afresh with
    /// the new key).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the key cannot be used.
    pub fn add_key(
        &mut self,
        kid: Kid,
        suite: CipherSuite,
        base_key: BaseKey,
    ) -> Result<(), Error> {
        let entry = self.entry(kid, suite, &base_key)?;
        self.keys.insert(kid, entry);
        Ok(())
    }

    fn entry(&mut self, kid: Kid, suite: CipherSuite, base: &BaseKey) -> Result<KeyEntry, Error> {
        let serial = next_serial(&mut self.serials);
        new_entry(self.config.replay_window, kid, suite, base, serial)
    }

    /// Removes the key for `kid`; returns whether there was one.
    pub fn remove_key(&mut self, kid: Kid) -> bool {
        self.keys.remove(&kid).is_some()
    }

    /// Whether a key for `kid` is installed.
    pub fn has_key(&self, kid: Kid) -> bool {
        self.keys.contains_key(&kid)
    }

    /// How many frames failed authentication under the key for `kid` since
    /// it was installed: a forgery attempt, tampering, corruption or a wrong
    /// key. For the KID of a step ahead of a followed ratcheting sender the
    /// count of that step's key (its forged frames count before the step is
    /// committed); 0 when there is no such key. When it reaches
    /// `suite.forgery_limit()` the key is refused with
    /// [`Error::AuthFailureLimit`]. A rising count is a sign of attack
    /// worth reporting.
    ///
    /// ```
    /// use callseal_core::frame::{BaseKey, CipherSuite, Error, Kid, Receiver, ReceiverConfig, Sender};
    ///
    /// let suite = CipherSuite::AesCtr128HmacSha256_32;
    /// let mut receiver = Receiver::new(ReceiverConfig::default());
    /// receiver.add_key(Kid(1), suite, BaseKey::new(&[2; 16])?)?;
    /// let mut forger = Sender::new(suite, Kid(1), BaseKey::new(&[3; 16])?)?;
    ///
    /// let forged = forger.encrypt(b"", b"forged")?;
    /// assert_eq!(receiver.decrypt(b"", &forged), Err(Error::AuthenticationFailed));
    /// assert_eq!(receiver.auth_failures(Kid(1)), 1);
    /// # Ok::<(), callseal_core::frame::Error>(())
    /// ```
    pub fn auth_failures(&self, kid: Kid) -> u64 {
        if let Some(entry) = self.keys.get(&kid) {
            return entry.auth_failures();
        }
        // A step ahead of a followed sender, not yet committed.
        self.candidate(kid).map_or(0, KeyEntry::auth_failures)
    }

    /// The key of a step ahead of a followed sender, if a frame asked for
    /// it already (not yet committed).
    fn candidate(&self, kid: Kid) -> Option<&KeyEntry> {
        let f = self
            .follower_index(kid)
            .and_then(|i| self.followers.get(i))?;
        let ahead = f.layout.step_low_bits(kid).wrapping_sub(f.step) & f.layout.mask();
        ahead
            .checked_sub(1)
            .and_then(|j| usize::try_from(j).ok())
            .and_then(|j| f.lookahead.get(j))
            .and_then(|(_, entry)| entry.as_ref())
    }

    /// Follows a §5.1 ratcheting sender of key `generation`, starting at
    /// step 0. Frames whose KID is up to `max_ratchet_steps` steps ahead are
    /// followed: the key moves forward only once such a frame authenticated,
    /// so forged KIDs cannot push the receiver off its key. A follower for
    /// the same generation and layout is replaced.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `generation` does not fit `64 - R` bits,
    /// `max_ratchet_steps` is not below `2^(R-1)`, or `max_ratchet_steps +
    /// retained_ratchet_keys` exceeds `2^R`; [`Error::InvalidKey`].
    pub fn add_ratcheting_sender(
        &mut self,
        suite: CipherSuite,
        layout: RatchetLayout,
        generation: u64,
        base_key: BaseKey,
    ) -> Result<(), Error> {
        if u64::from(self.config.max_ratchet_steps) > layout.mask() / 2 {
            return Err(Error::InvalidConfig(
                "max_ratchet_steps must be below 2^(R-1) so ahead and behind stay distinct",
            ));
        }
        if u64::from(self.config.max_ratchet_steps) + u64::from(self.config.retained_ratchet_keys)
            > layout.mask() + 1
        {
            // Otherwise a retained old step's KID equals a coming step's
            // KID, and that step's frames hit the old key forever.
            return Err(Error::InvalidConfig(
                "max_ratchet_steps + retained_ratchet_keys must not exceed 2^R",
            ));
        }
        let kid = layout.kid(generation, 0)?;
        self.remove_ratcheting_sender(layout, generation);
        let entry = self.entry(kid, suite, &base_key)?;
        self.keys.insert(kid, entry);
        self.followers.push(Follower {
            suite,
            layout,
            generation,
            step: 0,
            base: base_key,
            kids: VecDeque::from([(0, kid)]),
            lookahead: Vec::new(),
        });
        Ok(())
    }

    /// Stops following a ratcheting sender and removes its keys; returns
    /// whether there was one.
    pub fn remove_ratcheting_sender(&mut self, layout: RatchetLayout, generation: u64) -> bool {
        let Some(i) = self
            .followers
            .iter()
            .position(|f| f.layout == layout && f.generation == generation)
        else {
            return false;
        };
        let f = self.followers.swap_remove(i);
        for (_, kid) in &f.kids {
            self.keys.remove(kid);
        }
        true
    }

    /// The suite of the key that would decrypt `kid`.
    ///
    /// # Errors
    /// [`Error::UnknownKeyId`].
    pub fn suite_for(&self, kid: Kid) -> Result<CipherSuite, Error> {
        if let Some(e) = self.keys.get(&kid) {
            return Ok(e.suite);
        }
        self.follower_index(kid)
            .and_then(|i| self.followers.get(i))
            .map(|f| f.suite)
            .ok_or(Error::UnknownKeyId(kid))
    }

    fn follower_index(&self, kid: Kid) -> Option<usize> {
        self.followers
            .iter()
            .position(|f| f.layout.generation(kid) == f.generation)
    }

    /// Decrypts `buf` in place. `header_bytes` is the header as received;
    /// AAD = `header_bytes || metadata`.
    ///
    /// # Errors
    /// [`Error::UnknownKeyId`], [`Error::AuthFailureLimit`],
    /// [`Error::Replay`], [`Error::TooOld`], [`Error::AuthenticationFailed`]
    /// (counted against the key), [`Error::RatchetTooFar`].
    pub fn decrypt_detached(
        &mut self,
        header: &Header,
        header_bytes: &[u8],
        metadata: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        let Self {
            keys, aad: scratch, ..
        } = self;
        let aad = join_aad(scratch, header_bytes, metadata);
        if let Some(entry) = keys.get_mut(&header.kid) {
            return entry.open(header, aad, buf, tag);
        }
        self.follow(header, header_bytes, metadata, buf, tag)
    }

    /// A frame under an unknown KID of a followed ratcheting sender.
    fn follow(
        &mut self,
        header: &Header,
        header_bytes: &[u8],
        metadata: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        let kid = header.kid;
        let (i, d) = self.follow_candidate(kid)?;
        let Self {
            followers,
            aad: scratch,
            ..
        } = self;
        let entry = candidate_mut(followers, i, d).ok_or(Error::UnknownKeyId(kid))?;
        // Authenticate under the candidate key; only then commit the step.
        entry.open(header, join_aad(scratch, header_bytes, metadata), buf, tag)?;
        self.follow_commit(i, d, kid)
    }

    /// The follower of `kid` and how many steps ahead of it `kid` is, with
    /// that step's key derived (once) into its lookahead slot.
    fn follow_candidate(&mut self, kid: Kid) -> Result<(usize, usize), Error> {
        let i = self.follower_index(kid).ok_or(Error::UnknownKeyId(kid))?;
        let max = self.config.max_ratchet_steps;
        let window = self.config.replay_window;
        let Self {
            followers, serials, ..
        } = self;
        let f = followers.get_mut(i).ok_or(Error::UnknownKeyId(kid))?;
        let mask = f.layout.mask();
        let ahead = f.layout.step_low_bits(kid).wrapping_sub(f.step) & mask;
        if ahead == 0 || ahead > mask / 2 {
            // The current step's key, or an older one no longer kept.
            return Err(Error::UnknownKeyId(kid));
        }
        if ahead > u64::from(max) {
            return Err(Error::RatchetTooFar {
                kid,
                steps: ahead,
                max,
            });
        }
        // `ahead <= max <= MAX_RATCHET_STEPS`, so this fits any usize.
        let d = ahead as usize;
        while f.lookahead.len() < d {
            let next = f
                .lookahead
                .last()
                .map_or(&f.base, |(b, _)| b)
                .ratchet(f.suite);
            f.lookahead.push((next, None));
        }
        let suite = f.suite;
        let (base, slot) = f.lookahead.get_mut(d - 1).ok_or(Error::UnknownKeyId(kid))?;
        if slot.is_none() {
            *slot = Some(new_entry(window, kid, suite, base, next_serial(serials))?);
        }
        Ok((i, d))
    }

    /// Moves follower `i` forward `d` steps, a frame of that step having
    /// authenticated: the passed steps' keys (as far as retained) are
    /// installed, older ones removed.
    fn follow_commit(&mut self, i: usize, d: usize, kid: Kid) -> Result<(), Error> {
        let window = self.config.replay_window;
        let retained = u64::from(self.config.retained_ratchet_keys);
        let Self {
            keys,
            followers,
            serials,
            ..
        } = self;
        let f = followers.get_mut(i).ok_or(Error::UnknownKeyId(kid))?;
        let (suite, layout, generation) = (f.suite, f.layout, f.generation);
        let previous = f.step;
        let target = previous.wrapping_add(d as u64);
        let mut passed: Vec<_> = f.lookahead.drain(..d).collect();
        for (n, (step_base, step_entry)) in passed.iter_mut().enumerate() {
            // The n-th passed key (0-based) belongs to step previous + n + 1.
            let step = previous.wrapping_add(n as u64 + 1);
            if target.wrapping_sub(step) >= retained {
                continue; // skipped and too old to keep
            }
            let step_kid = layout.kid(generation, step)?;
            let e = match step_entry.take() {
                Some(e) => e,
                None => new_entry(window, step_kid, suite, step_base, next_serial(serials))?,
            };
            // A KID reused after 2^R steps names a new key: replace it.
            f.kids.retain(|(_, k)| *k != step_kid);
            f.kids.push_back((step, step_kid));
            keys.insert(step_kid, e);
        }
        if let Some((last, _)) = passed.pop() {
            f.base = last;
        }
        f.step = target;
        f.kids.retain(|&(step, k)| {
            let keep = target.wrapping_sub(step) < retained || step == previous;
            if !keep {
                keys.remove(&k);
            }
            keep
        });
        Ok(())
    }

    /// Checks a frame whose AES-GCM will run outside the core (see
    /// [`ExternalOpen`](super::ExternalOpen)): decodes the header, finds its
    /// key — installed with [`add_key`](Self::add_key), or a step of a
    /// followed ratcheting sender — and checks the replay window, without
    /// recording anything. Returns the nonce and AAD (header || `metadata`)
    /// to decrypt `frame[header_len..]` with, and the serial of the key;
    /// then, only once the tag verified, call
    /// [`commit_external`](Self::commit_external).
    ///
    /// If the platform's tag check fails, report it with
    /// [`reject_external`](Self::reject_external) so that it counts against
    /// the key's [`forgery_limit`](CipherSuite::forgery_limit).
    ///
    /// # Errors
    /// Header errors, [`Error::UnknownKeyId`], [`Error::RatchetTooFar`],
    /// [`Error::InvalidConfig`] for a key whose suite is not AES-GCM,
    /// [`Error::FrameTooShort`], [`Error::AuthFailureLimit`],
    /// [`Error::Replay`], [`Error::TooOld`].
    pub fn open_external(
        &mut self,
        metadata: &[u8],
        frame: &[u8],
    ) -> Result<super::ExternalOpen, Error> {
        let (header, hl) = Header::decode(frame)?;
        let suite = self.suite_for(header.kid)?;
        super::external::require_gcm(suite)?;
        if frame.len() < hl + suite.tag_len() {
            return Err(Error::FrameTooShort);
        }
        let head = frame.get(..hl).ok_or(Error::FrameTooShort)?;
        self.open_detached_external(&header, head, metadata)
    }

    /// [`open_external`](Self::open_external) for a frame laid out by the
    /// caller (media mode): `header` as decoded from `header_bytes`, AAD =
    /// `header_bytes || metadata`.
    ///
    /// # Errors
    /// As [`open_external`](Self::open_external), without the header and
    /// length errors.
    pub fn open_detached_external(
        &mut self,
        header: &Header,
        header_bytes: &[u8],
        metadata: &[u8],
    ) -> Result<super::ExternalOpen, Error> {
        let kid = header.kid;
        let entry = if self.keys.contains_key(&kid) {
            self.keys.get(&kid)
        } else {
            self.follow_candidate(kid)?;
            self.candidate(kid)
        }
        .ok_or(Error::UnknownKeyId(kid))?;
        super::external::require_gcm(entry.suite)?;
        entry.usable(kid)?;
        entry.window.check(kid, header.ctr)?;
        Ok(super::ExternalOpen {
            nonce: entry.cipher.nonce(header.ctr),
            aad: super::external::aad(header_bytes, metadata),
            header: *header,
            header_len: header_bytes.len(),
            key_serial: entry.serial,
        })
    }

    /// The AES-GCM key an [`ExternalOpen`](super::ExternalOpen) was checked
    /// against (its KID and `key_serial`), to import into the platform once
    /// per key.
    ///
    /// # Errors
    /// [`Error::UnknownKeyId`] if that key is gone or was replaced.
    pub fn external_key(
        &self,
        header: &Header,
        key_serial: u64,
    ) -> Result<super::ExternalKey, Error> {
        let kid = header.kid;
        self.keys
            .get(&kid)
            .or_else(|| self.candidate(kid))
            .filter(|e| e.serial == key_serial)
            .and_then(|e| e.cipher.external_key())
            .map(super::ExternalKey::copy_of)
            .ok_or(Error::UnknownKeyId(kid))
    }

    /// Records a frame checked by [`open_external`](Self::open_external) or
    /// [`open_detached_external`](Self::open_detached_external) whose tag
    /// then verified outside the core, under the key `key_serial` names.
    /// The replay window is checked again (another copy may have been
    /// committed meanwhile). A frame of a step ahead of a followed
    /// ratcheting sender commits that step, as
    /// [`decrypt_detached`](Self::decrypt_detached) does.
    ///
    /// # Errors
    /// [`Error::UnknownKeyId`] if the key was removed or replaced since the
    /// frame was opened (its window is left as it was),
    /// [`Error::AuthFailureLimit`] if it was refused meanwhile,
    /// [`Error::Replay`], [`Error::TooOld`].
    pub fn commit_external(&mut self, header: &Header, key_serial: u64) -> Result<(), Error> {
        let kid = header.kid;
        let accept = |entry: &mut KeyEntry| {
            if entry.serial != key_serial {
                return Err(Error::UnknownKeyId(kid));
            }
            entry.usable(kid)?;
            entry.window.check(kid, header.ctr)?;
            entry.window.accept(header.ctr);
            Ok(())
        };
        if let Some(entry) = self.keys.get_mut(&kid) {
            return accept(entry);
        }
        let (i, d) = self.follow_candidate(kid)?;
        accept(candidate_mut(&mut self.followers, i, d).ok_or(Error::UnknownKeyId(kid))?)?;
        self.follow_commit(i, d, kid)
    }

    /// Records that a frame checked by [`open_external`](Self::open_external)
    /// failed its tag check outside the core: one authentication failure
    /// against the key, as [`decrypt_in_place`](Self::decrypt_in_place)
    /// counts its own (see [`auth_failures`](Self::auth_failures)). Nothing
    /// is counted if the key was replaced meanwhile.
    ///
    /// # Errors
    /// [`Error::UnknownKeyId`] if the key was removed or replaced.
    pub fn reject_external(&mut self, header: &Header, key_serial: u64) -> Result<(), Error> {
        let kid = header.kid;
        let entry = if self.keys.contains_key(&kid) {
            self.keys.get_mut(&kid)
        } else {
            let (i, d) = self.follow_candidate(kid)?;
            candidate_mut(&mut self.followers, i, d)
        };
        match entry {
            Some(entry) if entry.serial == key_serial => {
                entry.failed(Error::AuthenticationFailed);
                Ok(())
            }
            _ => Err(Error::UnknownKeyId(kid)),
        }
    }

    /// Decrypts an SFrame ciphertext in place; returns its header and the
    /// payload, a sub-slice of `frame`.
    ///
    /// # Errors
    /// As [`decrypt_detached`](Self::decrypt_detached), plus header errors and
    /// [`Error::FrameTooShort`].
    pub fn decrypt_in_place<'a>(
        &mut self,
        metadata: &[u8],
        frame: &'a mut [u8],
    ) -> Result<(Header, &'a mut [u8]), Error> {
        let (header, hl) = Header::decode(frame)?;
        // An installed key: one lookup serves for the tag length and the key.
        if let Some(entry) = self.keys.get_mut(&header.kid) {
            let tl = entry.suite.tag_len();
            if frame.len() < hl + tl {
                return Err(Error::FrameTooShort);
            }
            let (head, rest) = frame.split_at_mut(hl);
            let (body, tag) = rest.split_at_mut(rest.len() - tl);
            let aad = join_aad(&mut self.aad, head, metadata);
            entry.open(&header, aad, body, tag)?;
            return Ok((header, body));
        }
        let tl = self.suite_for(header.kid)?.tag_len();
        if frame.len() < hl + tl {
            return Err(Error::FrameTooShort);
        }
        let (head, rest) = frame.split_at_mut(hl);
        let (body, tag) = rest.split_at_mut(rest.len() - tl);
        self.follow(&header, head, metadata, body, tag)?;
        Ok((header, body))
    }

    /// Decrypts an SFrame ciphertext into `out`; returns the payload length.
    ///
    /// # Errors
    /// As [`decrypt_in_place`](Self::decrypt_in_place), plus
    /// [`Error::BufferTooSmall`].
    pub fn decrypt_into(
        &mut self,
        metadata: &[u8],
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let (header, hl) = Header::decode(frame)?;
        let tl = self.suite_for(header.kid)?.tag_len();
        let body_len = frame
            .len()
            .checked_sub(hl + tl)
            .ok_or(Error::FrameTooShort)?;
        let out = out
            .get_mut(..body_len)
            .ok_or(Error::BufferTooSmall { needed: body_len })?;
        let (head, rest) = frame.split_at(hl);
        let (body, tag) = rest.split_at(body_len);
        out.copy_from_slice(body);
        self.decrypt_detached(&header, head, metadata, out, tag)?;
        Ok(body_len)
    }

    /// Like [`decrypt_into`](Self::decrypt_into), into a new vector.
    ///
    /// # Errors
    /// As [`decrypt_in_place`](Self::decrypt_in_place).
    pub fn decrypt(&mut self, metadata: &[u8], frame: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = frame.to_vec();
        let (header, payload) = self.decrypt_in_place(metadata, &mut out)?;
        let len = payload.len();
        let start = super::header::encoded_len(header.kid, header.ctr);
        out.truncate(start + len);
        out.drain(..start);
        Ok(out)
    }
}

fn new_entry(
    window: u32,
    kid: Kid,
    suite: CipherSuite,
    base: &BaseKey,
    serial: u64,
) -> Result<KeyEntry, Error> {
    Ok(KeyEntry {
        suite,
        cipher: FrameCipher::new(suite, &derive_key_salt(suite, kid, base))?,
        window: ReplayWindow::new(window),
        failures_left: suite.forgery_limit(),
        serial,
    })
}

/// The next key serial (never 0, which no key has).
fn next_serial(serials: &mut u64) -> u64 {
    *serials = serials.wrapping_add(1);
    *serials
}

/// The lookahead key `d` steps ahead of follower `i`, once derived.
fn candidate_mut(followers: &mut [Follower], i: usize, d: usize) -> Option<&mut KeyEntry> {
    followers
        .get_mut(i)?
        .lookahead
        .get_mut(d.checked_sub(1)?)?
        .1
        .as_mut()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::frame::{Counter, Sender};

    /// Forged far-ahead KIDs derive each step's key once, not per frame.
    #[test]
    fn lookahead_keys_are_derived_once() {
        let suite = CipherSuite::AesGcm128Sha256;
        let layout = RatchetLayout::new(8).unwrap();
        let mut r = Receiver::new(ReceiverConfig::default());
        r.add_ratcheting_sender(suite, layout, 3, BaseKey::new(&[1; 16]).unwrap())
            .unwrap();
        let forged = |step| {
            let mut f = Header {
                kid: layout.kid(3, step).unwrap(),
                ctr: Counter(0),
            }
            .encode()
            .as_bytes()
            .to_vec();
            f.extend_from_slice(&[0; 32]);
            f
        };
        assert_eq!(r.decrypt(b"", &forged(5)), Err(Error::AuthenticationFailed));
        let f = &r.followers[0];
        assert_eq!(f.lookahead.len(), 5);
        assert_eq!(f.lookahead.iter().filter(|(_, e)| e.is_some()).count(), 1);
        // The same and nearer forgeries add nothing but the entry they ask for.
        for _ in 0..10 {
            assert_eq!(r.decrypt(b"", &forged(5)), Err(Error::AuthenticationFailed));
        }
        assert_eq!(r.decrypt(b"", &forged(2)), Err(Error::AuthenticationFailed));
        let f = &r.followers[0];
        assert_eq!(f.lookahead.len(), 5);
        assert_eq!(f.lookahead.iter().filter(|(_, e)| e.is_some()).count(), 2);
        assert_eq!(f.step, 0);

        // A genuine frame two steps ahead commits; the rest of the cache
        // becomes the look-ahead of the new step.
        let mut s = Sender::ratcheting(suite, layout, 3, BaseKey::new(&[1; 16]).unwrap()).unwrap();
        s.ratchet().unwrap();
        s.ratchet().unwrap();
        let genuine = s.encrypt(b"", b"ok").unwrap();
        assert_eq!(r.decrypt(b"", &genuine).unwrap(), b"ok");
        let f = &r.followers[0];
        assert_eq!((f.step, f.lookahead.len()), (2, 3));
        s.ratchet().unwrap();
        let next = s.encrypt(b"", b"next").unwrap();
        assert_eq!(r.decrypt(b"", &next).unwrap(), b"next");
    }

    /// Forgeries under a step ahead count against that step's cached
    /// candidate entry, and the count moves with the entry when a genuine
    /// frame commits a step before it.
    #[test]
    fn candidate_keys_keep_their_count() {
        let suite = CipherSuite::AesCtr128HmacSha256_32;
        let layout = RatchetLayout::new(8).unwrap();
        let mut r = Receiver::new(ReceiverConfig::default());
        r.add_ratcheting_sender(suite, layout, 3, BaseKey::new(&[1; 16]).unwrap())
            .unwrap();
        let mut forged = Header {
            kid: layout.kid(3, 2).unwrap(),
            ctr: Counter(0),
        }
        .encode()
        .as_bytes()
        .to_vec();
        forged.extend_from_slice(&[0; 8]);
        for _ in 0..3 {
            assert_eq!(r.decrypt(b"", &forged), Err(Error::AuthenticationFailed));
        }
        let candidate = |r: &Receiver| {
            r.followers[0]
                .lookahead
                .iter()
                .filter_map(|(_, e)| e.as_ref())
                .map(KeyEntry::auth_failures)
                .collect::<Vec<_>>()
        };
        assert_eq!(candidate(&r), [3]);
        assert_eq!(r.auth_failures(layout.kid(3, 2).unwrap()), 3);

        let mut s = Sender::ratcheting(suite, layout, 3, BaseKey::new(&[1; 16]).unwrap()).unwrap();
        s.ratchet().unwrap();
        let step1 = s.encrypt(b"", b"one").unwrap();
        assert_eq!(r.decrypt(b"", &step1).unwrap(), b"one");
        // Step 2 is now the first step ahead, with its count.
        assert_eq!(r.followers[0].lookahead.len(), 1);
        assert_eq!(candidate(&r), [3]);
        s.ratchet().unwrap();
        let step2 = s.encrypt(b"", b"two").unwrap();
        assert_eq!(r.decrypt(b"", &step2).unwrap(), b"two");
        assert_eq!(r.auth_failures(layout.kid(3, 2).unwrap()), 3);
    }

    /// Failures reported from outside the core count, and a refused key is
    /// refused on the external path too.
    #[test]
    fn external_failures_count_and_refuse() {
        let suite = CipherSuite::AesGcm128Sha256;
        let kid = Kid(4);
        let mut r = Receiver::new(ReceiverConfig::default());
        r.add_key(kid, suite, BaseKey::new(&[9; 16]).unwrap())
            .unwrap();
        let mut s = Sender::new(suite, kid, BaseKey::new(&[9; 16]).unwrap()).unwrap();
        let frame = s.encrypt(b"", b"gcm").unwrap();

        let open = r.open_external(b"", &frame).unwrap();
        r.reject_external(&open.header, open.key_serial).unwrap();
        assert_eq!(r.auth_failures(kid), 1);
        assert_eq!(
            r.reject_external(
                &Header {
                    kid: Kid(5),
                    ctr: Counter(0)
                },
                open.key_serial
            ),
            Err(Error::UnknownKeyId(Kid(5)))
        );

        // One failure short of 2^52, then the last one.
        r.keys.get_mut(&kid).unwrap().failures_left = 1;
        let open = r.open_external(b"", &frame).unwrap();
        r.reject_external(&open.header, open.key_serial).unwrap();
        assert_eq!(r.auth_failures(kid), 1 << 52);
        let refused = Err(Error::AuthFailureLimit {
            kid,
            limit: 1 << 52,
        });
        assert_eq!(r.open_external(b"", &frame).map(|_| ()), refused);
        assert_eq!(r.commit_external(&open.header, open.key_serial), refused);
        assert_eq!(r.decrypt(b"", &frame).map(|_| ()), refused);
    }

    /// Errors that prove nothing about the key are not counted.
    #[test]
    fn only_authentication_failures_count() {
        let suite = CipherSuite::AesCtr128HmacSha256_32;
        let mut r = Receiver::new(ReceiverConfig::default());
        r.add_key(Kid(1), suite, BaseKey::new(&[1; 16]).unwrap())
            .unwrap();
        let entry = r.keys.get_mut(&Kid(1)).unwrap();
        assert_eq!(entry.failed(Error::PayloadTooLong), Error::PayloadTooLong);
        assert_eq!(entry.failures_left, suite.forgery_limit());
        assert_eq!(
            entry.failed(Error::AuthenticationFailed),
            Error::AuthenticationFailed
        );
        assert_eq!(entry.auth_failures(), 1);
    }

    #[test]
    fn new_keeps_valid_fields() {
        let c = ReceiverConfig {
            replay_window: 0,
            max_ratchet_steps: 3,
            retained_ratchet_keys: 2,
        }
        .sanitized();
        assert_eq!(
            (
                c.replay_window,
                c.max_ratchet_steps,
                c.retained_ratchet_keys
            ),
            (1024, 3, 2)
        );
    }
}
