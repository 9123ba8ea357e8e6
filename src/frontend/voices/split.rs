//! Two voices on one channel told apart: the speech of a mono recording is cut into 1.6 s
//! windows every 0.4 s, each embedded by the voice encoder; the windows are split in two by
//! spectral clustering (a graph of each window's nearest neighbours, cut where it is
//! thinnest: two voices form two dense groups even when one talks far more); every 10 ms
//! of speech then goes to the voice its covering windows sit closest to.

use super::encoder::{dot, normalise, VoiceEncoder, VoiceModelError, N_MELS, WINDOW};

/// Windows start this many mel frames apart (0.4 s).
const STEP: usize = 40;
/// Windows clustered at most; a longer call's windows are sampled evenly, the rest joined
/// to the nearer voice (the graph grows as the square of its windows).
const MAX_CLUSTERED: usize = 800;
/// Each window keeps its nearest fifth as neighbours in the graph.
const NEIGHBOURS: f32 = 0.2;
/// Speech is widened by this many frames each side before it is handed out, so a word's
/// soft onset and end go with it (0.2 s).
const PAD: usize = 20;
/// Speech windows needed to tell two voices apart (about 4 s of speech).
pub const MIN_WINDOWS: usize = 6;
/// Two halves of one voice split in two sit this close or closer (0.944 to 0.961 for a
/// synthetic voice alone, espeak's or Piper's; 0.90 to 0.91 for a real one) where two
/// voices sit at 0.83 to 0.925 (0.83 to 0.88 on real calls and clips; the bundled call's
/// two synthetic voices up to 0.925): at or above it, the channel is taken to hold one
/// voice. A real voice alone is split (see BENCHMARKS.md); the worse error, two voices
/// read as one (100% rep talk), needs a pair more alike than any real pair seen.
pub const ONE_VOICE: f32 = 0.935;

/// What each 10 ms of the call is: silence, or the speech of voice 0 or voice 1.
pub const NONE: u8 = u8::MAX;

pub struct Voices {
    /// Per 10 ms frame: [`NONE`], 0 or 1.
    pub labels: Vec<u8>,
    /// Each voice's mean embedding (unit length).
    pub centroids: [Vec<f32>; 2],
    /// Cosine similarity of the two voices' centroids (1 is one voice).
    pub similarity: f32,
}

/// Where the windows start: every `STEP` frames, where most of the window's middle step
/// is speech.
pub fn windows(speech: &[bool]) -> Vec<usize> {
    let half = STEP / 2;
    (0..speech.len().saturating_sub(WINDOW - 1))
        .step_by(STEP)
        .filter(|&s| {
            let mid = &speech[s + WINDOW / 2 - half..s + WINDOW / 2 + half];
            mid.iter().filter(|&&v| v).count() * 2 > mid.len()
        })
        .collect()
}

/// Splits the speech frames (`speech[i]`: frame `i` is in a turn) of the mel frames into
/// two voices. None when there is too little speech to tell voices apart, or one voice.
///
/// # Errors
/// The encoder failed.
pub fn split(
    enc: &VoiceEncoder,
    mels: &[[f32; N_MELS]],
    power: &[f32],
    speech: &[bool],
) -> Result<Option<Voices>, VoiceModelError> {
    let n = mels.len().min(speech.len()).min(power.len());
    let starts = windows(&speech[..n]);
    if starts.len() < MIN_WINDOWS {
        return Ok(None);
    }
    let windows: Vec<(&[[f32; N_MELS]], f32)> = starts
        .iter()
        .map(|&s| {
            let p = power[s..s + WINDOW].iter().sum::<f32>() / WINDOW as f32;
            (&mels[s..s + WINDOW], p)
        })
        .collect();
    let emb = enc.embed(&windows)?;
    let picked: Vec<usize> = if emb.len() > MAX_CLUSTERED {
        (0..MAX_CLUSTERED)
            .map(|i| i * emb.len() / MAX_CLUSTERED)
            .collect()
    } else {
        (0..emb.len()).collect()
    };
    let sample: Vec<&[f32]> = picked.iter().map(|&i| emb[i].as_slice()).collect();
    let groups = spectral_two(&sample);
    if !groups.contains(&0) || !groups.contains(&1) {
        return Ok(None);
    }
    let centroids = [0u8, 1].map(|g| {
        let mut c = vec![0f32; emb[0].len()];
        for (e, _) in sample.iter().zip(&groups).filter(|(_, &k)| k == g) {
            c.iter_mut().zip(e.iter()).for_each(|(a, b)| *a += b);
        }
        normalise(&mut c);
        c
    });
    let similarity = dot(&centroids[0], &centroids[1]);
    if similarity >= ONE_VOICE {
        return Ok(None);
    }
    // Each frame goes to the voice its covering windows score higher for.
    let mut score = vec![[0f32; 2]; n];
    for (&s, e) in starts.iter().zip(&emb) {
        let v = [dot(e, &centroids[0]), dot(e, &centroids[1])];
        for f in &mut score[s..s + WINDOW] {
            f[0] += v[0];
            f[1] += v[1];
        }
    }
    let mut padded = vec![false; n];
    for (i, _) in speech.iter().enumerate().take(n).filter(|(_, &v)| v) {
        padded[i.saturating_sub(PAD)..(i + PAD + 1).min(n)].fill(true);
    }
    let mut labels = vec![NONE; n];
    for i in 0..n {
        if !padded[i] {
            continue;
        }
        let s = if score[i] == [0.0, 0.0] {
            // Speech no window covers (a call's first or last second): the nearest window.
            let j = starts
                .iter()
                .min_by_key(|&&s| (s + WINDOW / 2).abs_diff(i))
                .copied()
                .unwrap_or(0);
            score[(j + WINDOW / 2).min(n - 1)]
        } else {
            score[i]
        };
        labels[i] = u8::from(s[1] > s[0]);
    }
    Ok(Some(Voices {
        labels,
        centroids,
        similarity,
    }))
}

/// Splits unit vectors in two: the sign pattern of the second eigenvector of the
/// normalised affinity of a nearest-neighbour graph (Ng, Jordan and Weiss), with k-means
/// on the rows as they do.
fn spectral_two(e: &[&[f32]]) -> Vec<u8> {
    let n = e.len();
    let keep = ((NEIGHBOURS * n as f32) as usize).max(2).min(n);
    let mut a = vec![0f32; n * n];
    let mut row = vec![0f32; n];
    let mut order: Vec<usize> = (0..n).collect();
    for i in 0..n {
        for (j, r) in row.iter_mut().enumerate() {
            *r = dot(e[i], e[j]);
        }
        order.sort_unstable_by(|&x, &y| row[y].total_cmp(&row[x]));
        for &j in &order[..keep] {
            a[i * n + j] = row[j].max(0.0);
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            let m = a[i * n + j].max(a[j * n + i]);
            a[i * n + j] = m;
            a[j * n + i] = m;
        }
    }
    let d: Vec<f32> = (0..n)
        .map(|i| a[i * n..(i + 1) * n].iter().sum::<f32>().max(1e-9).sqrt())
        .collect();
    for i in 0..n {
        for j in 0..n {
            a[i * n + j] /= d[i] * d[j];
        }
    }
    // The top eigenvector of D^-1/2 A D^-1/2 is sqrt(degree); the second, by power
    // iteration on the matrix shifted by I (all its eigenvalues then lie in [0, 2]) with
    // the first projected out.
    let mut v1 = d.clone();
    normalise(&mut v1);
    let mut v2: Vec<f32> = (0..n)
        .map(|i| if i < n / 2 { 1.0 } else { -1.0 } + 0.01 * i as f32 / n as f32)
        .collect();
    let mut next = vec![0f32; n];
    for _ in 0..500 {
        let p = dot(&v2, &v1);
        v2.iter_mut().zip(&v1).for_each(|(x, y)| *x -= p * y);
        normalise(&mut v2);
        for (i, out) in next.iter_mut().enumerate() {
            *out = v2[i] + dot(&a[i * n..(i + 1) * n], &v2);
        }
        normalise(&mut next);
        let settled = 1.0 - dot(&next, &v2).abs() < 1e-9;
        std::mem::swap(&mut v2, &mut next);
        if settled {
            break;
        }
    }
    // Rows of [v1, v2] on the unit circle, in two by k-means (2-D, a few rounds).
    let rows: Vec<[f32; 2]> = (0..n)
        .map(|i| {
            let mut r = [v1[i], v2[i]];
            normalise(&mut r);
            r
        })
        .collect();
    let far = |c: [f32; 2]| {
        (0..n)
            .min_by(|&x, &y| dot(&rows[x], &c).total_cmp(&dot(&rows[y], &c)))
            .unwrap_or(0)
    };
    let first = far([1.0, 0.0].map(|v: f32| -v));
    let mut c = [rows[first], rows[far(rows[first])]];
    let mut groups = vec![0u8; n];
    for _ in 0..50 {
        for (g, r) in groups.iter_mut().zip(&rows) {
            *g = u8::from(dot(r, &c[1]) > dot(r, &c[0]));
        }
        let mut sums = [[0f32; 2]; 2];
        for (g, r) in groups.iter().zip(&rows) {
            sums[*g as usize][0] += r[0];
            sums[*g as usize][1] += r[1];
        }
        let moved = sums.map(|mut s| {
            normalise(&mut s);
            s
        });
        if moved == c {
            break;
        }
        c = moved;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_groups_of_directions_are_split_apart_whatever_their_sizes() {
        // 40 noisy vectors about one direction, 8 about another 60 degrees away (window
        // embeddings of a talkative rep and a quiet prospect).
        let mut seed = 7u32;
        let mut noise = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let vs: Vec<Vec<f32>> = (0..48)
            .map(|i| {
                let angle: f32 = if i % 6 == 5 { 1.05 } else { 0.0 };
                let mut v: Vec<f32> = (0..16).map(|_| 0.3 * noise()).collect();
                v[0] += angle.cos();
                v[1] += angle.sin();
                normalise(&mut v);
                v
            })
            .collect();
        let refs: Vec<&[f32]> = vs.iter().map(Vec::as_slice).collect();
        let g = spectral_two(&refs);
        let minority = g[5];
        for (i, &k) in g.iter().enumerate() {
            assert_eq!(k == minority, i % 6 == 5, "vector {i}: {g:?}");
        }
    }
}
