//! The act classifier: one softmax (multinomial logistic regression) head per side over
//! sentence embeddings, form features and skeleton patterns, trained from the labelled
//! sentences plus the rules file's own examples (embeddings and trained heads cached
//! beside the encoder). The nearest labelled sentences explain each reading ("sounds
//! like: ...").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::context::{self, Context, Cue};
use super::encoder::{cosine, Encoder, EncoderError, DIM, WIDTH};
use super::labelled::{self, Dialogue, Labelled};
use super::{form, skeleton, Act, Reading};
use crate::event::{PerSide, Side};

/// A rules file's example sentences weigh this much more than one labelled sentence.
const USER_WEIGHT: f32 = 5.0;
const EPOCHS: usize = 300;
/// Chosen by leave-one-domain-out cross-validation (0.1 and 0.01 read pitch worse).
const L2: f32 = 0.03;

/// A labelled sentence kept to explain readings: its sentence mean is all "sounds like"
/// compares (the head's inputs, 7 KB a sentence, live only while training).
struct Example {
    text: String,
    act: Act,
    mean: [f32; DIM],
}

/// Features the head reads.
const D: usize = WIDTH + form::N + skeleton::N;

/// Softmax regression over `acts`.
struct Head {
    acts: &'static [Act],
    /// One row of weights per act (as many as the inputs), the bias last.
    w: Vec<Vec<f32>>,
}

pub struct Classifier {
    encoder: Arc<Encoder>,
    heads: PerSide<Head>,
    /// Reads a sentence's own probabilities with its context (learnt from dialogues);
    /// none until trained.
    context: PerSide<Option<Head>>,
    examples: PerSide<Vec<Example>>,
}

/// A sentence read alone as a pitch this surely stays one whatever its context.
const CONTEXT_VETO_BELOW: f32 = 0.6;

/// The context heads' L2: they read a few dozen features learnt from a few hundred
/// sentences, so they are kept close to the sentence's own reading.
const CONTEXT_L2: f32 = 0.01;

fn softmax(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::MIN, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

/// Embeddings scaled so each coordinate is about unit size, like the form features: the
/// regression then trains with one learning rate for every feature.
const SCALE: f32 = 19.6; // sqrt(384), the width of each unit-length half

/// What the head reads for one sentence.
fn inputs(sentence: &str, emb: &[f32; WIDTH]) -> Vec<f32> {
    emb.iter()
        .map(|e| e * SCALE)
        .chain(form::features(sentence))
        .chain(skeleton::features(sentence))
        .collect()
}

impl Head {
    fn scores(&self, x: &[f32]) -> Vec<f32> {
        let mut z: Vec<f32> = self
            .w
            .iter()
            .map(|w| {
                let (bias, w) = w.split_last().expect("a bias");
                bias + w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>()
            })
            .collect();
        softmax(&mut z);
        z
    }

    /// Full-batch gradient descent with Adam on weighted examples of `dim` inputs, every
    /// class weighing the same overall, however many examples each has.
    fn train(acts: &'static [Act], dim: usize, l2: f32, data: &[(&[f32], Act, f32)]) -> Self {
        let k = acts.len();
        let mut head = Head {
            acts,
            w: vec![vec![0.0; dim + 1]; k],
        };
        let total: f32 = data.iter().map(|d| d.2).sum::<f32>().max(1.0);
        let per_class: Vec<f32> = acts
            .iter()
            .map(|a| {
                data.iter()
                    .filter(|d| d.1 == *a)
                    .map(|d| d.2)
                    .sum::<f32>()
                    .max(1.0)
            })
            .collect();
        let (mut m, mut v) = (vec![vec![0f32; dim + 1]; k], vec![vec![0f32; dim + 1]; k]);
        let (lr0, b1, b2) = (0.05f32, 0.9f32, 0.999f32);
        for epoch in 1..=EPOCHS {
            // The step shrinks to nothing by the last epoch: a fixed step leaves the weights
            // circling the optimum, and where they stop differs with every change of data.
            let lr = lr0 * (1.0 - (epoch - 1) as f32 / EPOCHS as f32);
            let mut grad = vec![vec![0f32; dim + 1]; k];
            for (x, act, weight) in data {
                let p = head.scores(x);
                let Some(truth) = acts.iter().position(|a| a == act) else {
                    continue;
                };
                let w = weight * total / (k as f32 * per_class[truth]);
                for (c, g) in grad.iter_mut().enumerate() {
                    let err = w * (p[c] - f32::from(c == truth));
                    for (gi, e) in g[..dim].iter_mut().zip(x.iter()) {
                        *gi += err * e;
                    }
                    g[dim] += err;
                }
            }
            let (c1, c2) = (1.0 - b1.powi(epoch as i32), 1.0 - b2.powi(epoch as i32));
            for c in 0..k {
                for i in 0..=dim {
                    let g = grad[c][i] / total + l2 * head.w[c][i];
                    m[c][i] = b1 * m[c][i] + (1.0 - b1) * g;
                    v[c][i] = b2 * v[c][i] + (1.0 - b2) * g * g;
                    head.w[c][i] -= lr * (m[c][i] / c1) / ((v[c][i] / c2).sqrt() + 1e-8);
                }
            }
        }
        head
    }
}

/// What the cached embeddings depend on: the labelled data and how token states are
/// pooled (a change of either must not reuse old embeddings of the same length).
fn embeddings_key() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(labelled::digest());
    h.update(super::encoder::POOLING);
    format!("{:x}", h.finalize())[..16].to_string()
}

/// The cache of the training sentences' embeddings, named by [`embeddings_key`].
pub fn cache_path(encoder_dir: &Path) -> PathBuf {
    encoder_dir.join(format!("acts-{}.f32", embeddings_key()))
}

/// The cache of the heads trained on the labelled sentences and a rules file's `extra`
/// examples, named by what they were trained on and how.
fn heads_path(encoder_dir: &Path, extra: &[(Act, String)]) -> PathBuf {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // Bump the version when the training itself changes.
    h.update(format!("v3 {D} {EPOCHS} {L2} {USER_WEIGHT} {SCALE}"));
    for (act, text) in extra {
        h.update(act.name());
        h.update([0]);
        h.update(text);
        h.update([0]);
    }
    let key = format!("{:x}", h.finalize());
    encoder_dir.join(format!(
        "acts-{}-heads-{}.f32",
        embeddings_key(),
        &key[..16]
    ))
}

fn read_heads(path: &Path) -> Option<PerSide<Head>> {
    let bytes = read_file(path)?;
    let rows: usize = Side::BOTH.iter().map(|s| Act::of(*s).len()).sum();
    if bytes.len() != rows * (D + 1) * 4 {
        return None;
    }
    let mut values = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut heads: PerSide<Head> = PerSide::from_fn(|side| Head {
        acts: Act::of(side),
        w: Vec::new(),
    });
    for side in Side::BOTH {
        for _ in Act::of(side) {
            let mut row = vec![0f32; D + 1];
            for (x, v) in row.iter_mut().zip(&mut values) {
                *x = v;
            }
            if row.iter().any(|x| !x.is_finite()) {
                return None;
            }
            heads[side].w.push(row);
        }
    }
    Some(heads)
}

fn write_heads(path: &Path, heads: &PerSide<Head>) {
    let bytes: Vec<u8> = Side::BOTH
        .iter()
        .flat_map(|s| heads[*s].w.iter().flatten())
        .flat_map(|x| x.to_le_bytes())
        .collect();
    write_file(path, &bytes);
}

fn read_cache(path: &Path, n: usize) -> Option<Vec<[f32; WIDTH]>> {
    let bytes = read_file(path)?;
    if bytes.len() != n * WIDTH * 4 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(WIDTH * 4)
            .map(|row| {
                let mut v = [0f32; WIDTH];
                for (x, b) in v.iter_mut().zip(row.chunks_exact(4)) {
                    *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
                v
            })
            .collect(),
    )
}

fn write_cache(path: &Path, embs: &[[f32; WIDTH]]) {
    let bytes: Vec<u8> = embs
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    write_file(path, &bytes);
}

/// A cache unused this long goes when another is written.
const CACHE_UNUSED: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// A cache file's bytes; reading it marks it used (its mtime), so a cache another twoears
/// version still reads (a background monitor started before an upgrade) is kept.
fn read_file(path: &Path) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    // "Now" as utimensat takes it (no times given): write access is enough, unlike an
    // explicit time, which only the owner may set (a shared models directory).
    if let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) {
        // SAFETY: a valid C string and a null times pointer, as utimensat(2) allows.
        unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), std::ptr::null(), 0) };
    }
    Some(bytes)
}

/// Best effort: a read-only models directory only means training again next time. Caches
/// nobody has read for a month go (not every other one: two versions of twoears running
/// at once would evict each other's and train again at every call).
fn write_file(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else { return };
    for old in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = old.file_name().to_string_lossy().into_owned();
        let unused = old
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > CACHE_UNUSED);
        if name.starts_with("acts-") && name.ends_with(".f32") && unused {
            let _ = std::fs::remove_file(old.path());
        }
    }
    if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) {
        use std::io::Write;
        if tmp.write_all(bytes).is_ok() {
            let _ = tmp.persist(path);
        }
    }
}

/// Embeds `texts` in batches.
fn embed_all(encoder: &Encoder, texts: &[&str]) -> Result<Vec<[f32; WIDTH]>, EncoderError> {
    let mut out = Vec::with_capacity(texts.len());
    for batch in texts.chunks(32) {
        out.extend(encoder.embed(batch)?);
    }
    Ok(out)
}

/// An encoder, the labelled sentences and their embeddings, in the same order.
pub type TrainingSet = (Encoder, Vec<Labelled>, Vec<[f32; WIDTH]>);

/// The compiled-in dialogues and the embeddings of their sentences, in reading order.
pub type DialogueSet = (Vec<Dialogue>, Vec<[f32; WIDTH]>);

/// The sentences of `dialogues` in reading order.
pub fn dialogue_texts(dialogues: &[Dialogue]) -> Vec<&str> {
    dialogues
        .iter()
        .flat_map(|d| &d.turns)
        .flat_map(|t| &t.sentences)
        .map(|s| s.text.as_str())
        .collect()
}

/// The compiled-in dialogues with their sentences' embeddings (cached beside the encoder
/// like the training sentences').
///
/// # Errors
/// The encoder fails on a sentence.
pub fn dialogue_set(dir: &Path, encoder: &Encoder) -> Result<DialogueSet, EncoderError> {
    let dialogues = labelled::dialogues();
    let texts = dialogue_texts(&dialogues);
    let cache = dir.join(format!("acts-dialogues-{}.f32", embeddings_key()));
    let embs = match read_cache(&cache, texts.len()) {
        Some(e) => e,
        None => {
            let e = embed_all(encoder, &texts)?;
            write_cache(&cache, &e);
            e
        }
    };
    Ok((dialogues, embs))
}

/// The encoder, the compiled-in labelled sentences and their embeddings (cached beside
/// the encoder, keyed by the data's digest).
///
/// # Errors
/// The encoder cannot be loaded.
pub fn training_set(dir: &Path) -> Result<TrainingSet, EncoderError> {
    let encoder = Encoder::load(dir)?;
    let data = labelled::training();
    let cache = cache_path(dir);
    let embs = match read_cache(&cache, data.len()) {
        Some(e) => e,
        None => {
            let texts: Vec<&str> = data.iter().map(|l| l.text.as_str()).collect();
            let e = embed_all(&encoder, &texts)?;
            write_cache(&cache, &e);
            e
        }
    };
    Ok((encoder, data, embs))
}

impl Classifier {
    /// Loads the encoder from `dir` and trains the heads on the labelled sentences and
    /// `extra` (a rules file's examples: act, sentence).
    ///
    /// # Errors
    /// The encoder cannot be loaded.
    pub fn load(dir: &Path, extra: &[(Act, String)]) -> Result<Self, EncoderError> {
        let (encoder, data, embs) = training_set(dir)?;
        let dialogues = dialogue_set(dir, &encoder)?;
        let extra_texts: Vec<&str> = extra.iter().map(|(_, t)| t.as_str()).collect();
        let extra_embs = embed_all(&encoder, &extra_texts)?;
        let mut all: Vec<(Labelled, [f32; WIDTH], f32)> = data
            .into_iter()
            .zip(embs)
            .map(|(l, e)| (l, e, 1.0))
            .collect();
        for ((act, text), emb) in extra.iter().zip(extra_embs) {
            for side in Side::BOTH {
                if Act::of(side).contains(act) {
                    let l = Labelled {
                        text: text.clone(),
                        side,
                        act: *act,
                        domain: "rules file".into(),
                    };
                    all.push((l, emb, USER_WEIGHT));
                }
            }
        }
        let mut c = Self::fit_cached(Arc::new(encoder), &all, Some(&heads_path(dir, extra)));
        c.learn_context(&dialogues.0, &dialogues.1);
        Ok(c)
    }

    /// The same reader without its context heads: every sentence read alone (to measure
    /// what context adds).
    #[must_use]
    pub fn alone(mut self) -> Self {
        self.context = PerSide::default();
        self
    }

    /// Trains the context heads on labelled dialogues (their sentences' embeddings in
    /// reading order): every sentence that has a context, read first alone by the trained
    /// heads, then with the readings before it. The dialogues are not among the sentence
    /// heads' training data, so the probabilities the context heads learn from are as
    /// honest as those of a new call's sentences.
    pub fn learn_context(&mut self, dialogues: &[Dialogue], embs: &[[f32; WIDTH]]) {
        let mut rows: PerSide<Vec<(Vec<f32>, Act)>> = PerSide::default();
        let mut emb = embs.iter();
        for d in dialogues {
            let mut turns: Vec<(Side, Vec<Reading>)> = Vec::new();
            for t in &d.turns {
                let mut read: Vec<Reading> = Vec::new();
                let other: Vec<&Reading> = turns
                    .last()
                    .filter(|(side, _)| *side != t.side)
                    .map(|(_, r)| r.iter().collect())
                    .unwrap_or_default();
                for s in &t.sentences {
                    let Some(e) = emb.next() else { return };
                    let ctx = Context {
                        before: read.last(),
                        other: &other,
                    };
                    let alone = self.read_embedded(t.side, &s.text, e);
                    if !ctx.is_empty() {
                        let cue = alone
                            .cue
                            .as_deref()
                            .expect("the encoder's readings have cues");
                        rows[t.side].push((
                            context::features(t.side, &cue.probs, &cue.mean, &ctx),
                            s.act,
                        ));
                    }
                    read.push(alone);
                }
                turns.push((t.side, read));
            }
        }
        self.context = PerSide::from_fn(|side| {
            let data: Vec<(&[f32], Act, f32)> = rows[side]
                .iter()
                .map(|(x, act)| (x.as_slice(), *act, 1.0))
                .collect();
            (!data.is_empty())
                .then(|| Head::train(Act::of(side), context::width(side), CONTEXT_L2, &data))
        });
    }

    /// Trains the heads on labelled sentences with their embeddings and weights.
    pub fn fit(encoder: Arc<Encoder>, data: &[(Labelled, [f32; WIDTH], f32)]) -> Self {
        Self::fit_cached(encoder, data, None)
    }

    /// As [`Classifier::fit`], reusing heads trained on the same sentences (a few seconds of
    /// training) from `cache`, and keeping them there.
    fn fit_cached(
        encoder: Arc<Encoder>,
        data: &[(Labelled, [f32; WIDTH], f32)],
        cache: Option<&Path>,
    ) -> Self {
        let mut examples: PerSide<Vec<Example>> = PerSide::default();
        for (l, emb, _) in data {
            let mut mean = [0f32; DIM];
            mean.copy_from_slice(&emb[..DIM]);
            examples[l.side].push(Example {
                text: l.text.clone(),
                act: l.act,
                mean,
            });
        }
        let train = || {
            PerSide::from_fn(|side| {
                let x: Vec<(Vec<f32>, Act, f32)> = data
                    .iter()
                    .filter(|(l, _, _)| l.side == side)
                    .map(|(l, emb, w)| (inputs(&l.text, emb), l.act, *w))
                    .collect();
                let rows: Vec<(&[f32], Act, f32)> = x
                    .iter()
                    .map(|(x, act, w)| (x.as_slice(), *act, *w))
                    .collect();
                Head::train(Act::of(side), D, L2, &rows)
            })
        };
        let heads = match cache {
            None => train(),
            Some(path) => read_heads(path).unwrap_or_else(|| {
                let heads = train();
                write_heads(path, &heads);
                heads
            }),
        };
        Self {
            encoder,
            heads,
            context: PerSide::default(),
            examples,
        }
    }

    /// The act of one sentence by `side`, with the nearest labelled sentences as the why.
    pub fn read(&self, side: Side, sentence: &str) -> Reading {
        self.read_in(side, sentence, &Context::default())
    }

    /// The act of one sentence by `side` in its context.
    pub fn read_in(&self, side: Side, sentence: &str, ctx: &Context) -> Reading {
        let emb = match self.encoder.embed(&[sentence]) {
            Ok(mut e) => e.remove(0),
            Err(e) => {
                return Reading {
                    sentence: sentence.into(),
                    act: Act::Other,
                    confidence: 0.0,
                    pitch: 0.0,
                    why: e.to_string(),
                    alone_pitch: None,
                    cue: None,
                }
            }
        };
        self.read_embedded_in(side, sentence, &emb, ctx)
    }

    /// The act of one embedded sentence, read alone.
    pub fn read_embedded(&self, side: Side, sentence: &str, emb: &[f32; WIDTH]) -> Reading {
        self.read_embedded_in(side, sentence, emb, &Context::default())
    }

    /// The act of one embedded sentence in its context: the sentence head reads it alone,
    /// then, when there is context and a context head, that head reads the result with it.
    pub fn read_embedded_in(
        &self,
        side: Side,
        sentence: &str,
        emb: &[f32; WIDTH],
        ctx: &Context,
    ) -> Reading {
        let head = &self.heads[side];
        let alone = head.scores(&inputs(sentence, emb));
        let mut mean = Box::new([0f32; DIM]);
        mean.copy_from_slice(&emb[..DIM]);
        let mut in_context = false;
        let p = match &self.context[side] {
            Some(c) if !ctx.is_empty() => {
                let read = c.scores(&context::features(side, &alone, &mean, ctx));
                // Context may only take a doubtful pitch away, and only after the other
                // side spoke (a recap of what they said, after its cue; an answer to
                // their question): adding pitches from context raised false alerts on
                // calls, taking clear ones away missed pitches that answer a pain, and
                // a call's opening lines have nothing to be read against.
                let pitch = |p: &[f32]| -> f32 {
                    head.acts
                        .iter()
                        .zip(p)
                        .filter(|(a, _)| a.is_pitch())
                        .map(|(_, x)| x)
                        .sum()
                };
                if pitch(&alone) < CONTEXT_VETO_BELOW
                    && pitch(&read) < pitch(&alone)
                    && !ctx.other.is_empty()
                {
                    in_context = true;
                    read
                } else {
                    alone.clone()
                }
            }
            _ => alone.clone(),
        };
        let best = |keep: &dyn Fn(Act) -> bool| {
            head.acts.iter().zip(&p).filter(|(a, _)| keep(**a)).fold(
                (Act::Other, f32::MIN),
                |b, (a, x)| if *x > b.1 { (*a, *x) } else { b },
            )
        };
        // A question by its form asks, whatever it names: never a presentation or a price.
        let asks = form::asks(sentence);
        // A price names an amount and a presentation has a topic: without them, that
        // reading is set aside, not handed to the other acts.
        let price_possible = form::names_an_amount(sentence);
        // A backchannel ("right, right") has no topic to present.
        let presentation_possible = skeleton::has_content(sentence);
        // An answer of fact ("about 70, maybe 80") asks the rep for nothing.
        let invitation_possible = form::invites(sentence);
        let possible = |a: Act| match a {
            Act::Price => price_possible,
            Act::Presentation => presentation_possible,
            Act::Invitation => invitation_possible,
            _ => true,
        };
        let pitch_of = |p: &[f32]| -> f32 {
            if asks {
                return 0.0;
            }
            head.acts
                .iter()
                .zip(p)
                .filter(|(a, _)| a.is_pitch() && possible(**a))
                .map(|(_, x)| x)
                .sum()
        };
        let pitch = pitch_of(&p);
        // Presentation and price are one thing to the rules: when together they outweigh
        // the rest, the sentence is read as the stronger of the two.
        let (act, confidence) = if pitch > 0.5 {
            (best(&|a: Act| a.is_pitch() && possible(a)).0, pitch)
        } else if asks {
            best(&|a: Act| !a.is_pitch())
        } else {
            best(&possible)
        };
        Reading {
            sentence: sentence.into(),
            act,
            confidence,
            pitch,
            why: self.sounds_like(side, act, emb),
            alone_pitch: in_context.then(|| pitch_of(&alone)),
            cue: Some(Box::new(Cue { probs: alone, mean })),
        }
    }

    /// The two labelled sentences of `act` whose sentence means are nearest to `emb`'s.
    fn sounds_like(&self, side: Side, act: Act, emb: &[f32; WIDTH]) -> String {
        let mut near: Vec<(f32, &str)> = self.examples[side]
            .iter()
            .filter(|e| e.act == act)
            .map(|e| (cosine(&e.mean, emb), e.text.as_str()))
            .collect();
        near.sort_by(|a, b| b.0.total_cmp(&a.0));
        let quoted: Vec<String> = near
            .iter()
            .take(2)
            .map(|(_, t)| format!("\"{t}\""))
            .collect();
        format!("sounds like: {}", quoted.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_a_cache_keeps_the_ones_in_use_and_drops_the_long_unused() {
        let dir = tempfile::tempdir().unwrap();
        let (old, other) = (
            dir.path().join("acts-old.f32"),
            dir.path().join("acts-other.f32"),
        );
        std::fs::write(&old, [1u8; 4]).unwrap();
        std::fs::write(&other, [2u8; 4]).unwrap();
        let long_ago = std::time::SystemTime::now() - CACHE_UNUSED * 2;
        for f in [&old, &other] {
            let file = std::fs::File::options().append(true).open(f).unwrap();
            file.set_modified(long_ago).unwrap();
        }
        // Another version of twoears still reads its cache: that marks it used.
        assert_eq!(read_file(&other).as_deref(), Some(&[2u8; 4][..]));
        let new = dir.path().join("acts-new.f32");
        write_file(&new, &[3u8; 4]);
        assert!(new.exists());
        assert!(other.exists(), "in use: kept");
        assert!(!old.exists(), "unused for two months: gone");
    }
}
