//! Drops what whisper invents on non-speech: bracketed annotations, stock phrases from its
//! training subtitles, and segments it itself rates as probably silent.

/// Above this no-speech probability a segment is dropped unless it is long.
const NO_SPEECH_MAX: f32 = 0.6;

/// Phrases whisper emits on silence or noise (lower-case, without punctuation).
const HALLUCINATIONS: &[&str] = &[
    "thank you for watching",
    "thanks for watching",
    "thank you for watching and see you next time",
    "please subscribe",
    "subtitles by the amaraorg community",
    "you",
];

fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Removes `[...]` and `(...)` annotations such as `[BLANK_AUDIO]` or `(music)`.
fn strip_annotations(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut in_stars = false;
    for c in s.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            '*' => in_stars = !in_stars,
            _ if depth == 0 && !in_stars => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Collapses whisper's decoding loops: a word or word pair said more than twice in a row
/// ("right, right, right") keeps two; a phrase of three or more words said twice in a row
/// keeps one (people do not repeat whole phrases verbatim back to back).
fn collapse_repeats(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let keys: Vec<String> = words
        .iter()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let mut kept: Vec<usize> = Vec::with_capacity(words.len());
    let mut i = 0;
    'next: while i < words.len() {
        for n in (1..=16).rev() {
            let copies = if n <= 2 { 2 } else { 1 };
            if kept.len() < copies * n || i + n > words.len() {
                continue;
            }
            let same = |a: &[usize], b: std::ops::Range<usize>| {
                a.iter().zip(b).all(|(&x, y)| keys[x] == keys[y])
            };
            let tail = &kept[kept.len() - copies * n..];
            if (0..copies).all(|c| same(&tail[c * n..(c + 1) * n], i..i + n)) {
                i += n;
                continue 'next;
            }
        }
        kept.push(i);
        i += 1;
    }
    kept.iter().map(|&k| words[k]).collect::<Vec<_>>().join(" ")
}

/// Drops an unfinished last sentence that restarts an earlier one of the same chunk
/// ("The horizon seems extremely distant. The horizon"): whisper, decoding a short
/// window, begins the chunk again after its end. A real restart would be finished.
fn drop_restarted_tail(text: &str) -> String {
    let trimmed = text.trim_end();
    let Some(cut) = trimmed.rfind(['.', '?', '!']) else {
        return text.to_string();
    };
    let (done, tail) = trimmed.split_at(cut + 1);
    let key = |s: &str| normalise(s);
    let tail_key = key(tail);
    if tail_key.is_empty() {
        return text.to_string();
    }
    let tail_words: Vec<&str> = tail_key.split(' ').collect();
    let restarts = done.split_inclusive(['.', '?', '!']).any(|sentence| {
        let sentence = key(sentence);
        let words: Vec<&str> = sentence.split(' ').collect();
        words.len() > tail_words.len() && words.starts_with(&tail_words)
    });
    if restarts {
        done.to_string()
    } else {
        text.to_string()
    }
}

/// The segment's text to keep, or `None` when it is a hallucination.
pub fn keep(text: &str, no_speech_prob: f32) -> Option<String> {
    let text = drop_restarted_tail(&collapse_repeats(&strip_annotations(text)));
    let norm = normalise(&text);
    if norm.is_empty() || HALLUCINATIONS.contains(&norm.as_str()) {
        return None;
    }
    if no_speech_prob > NO_SPEECH_MAX && norm.split(' ').count() < 4 {
        return None;
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_known_hallucinations() {
        assert_eq!(keep(" [BLANK_AUDIO]", 0.1), None);
        assert_eq!(keep(" (music)", 0.1), None);
        assert_eq!(keep(" Thank you for watching!", 0.2), None);
        assert_eq!(keep(" you", 0.2), None);
        assert_eq!(keep(" *sighs*", 0.2), None);
    }

    #[test]
    fn drops_short_text_whisper_thinks_is_silence() {
        assert_eq!(keep(" Okay.", 0.9), None);
        assert_eq!(keep(" Okay.", 0.1), Some("Okay.".into()));
        assert!(keep(" We use spreadsheets for all of it today.", 0.9).is_some());
    }

    #[test]
    fn collapses_decoding_loops() {
        assert_eq!(
            keep("Right, right. Right, Right, right, right, right.", 0.0),
            Some("Right, right.".into())
        );
        assert_eq!(
            keep("I mean, we do, we do, we do, we do it weekly.", 0.0),
            Some("I mean, we do, we do, it weekly.".into())
        );
        assert_eq!(keep("That is that.", 0.0), Some("That is that.".into()));
        assert_eq!(
            keep(
                "Customers see more replies. Customers see more replies. Customers",
                0.0
            ),
            Some("Customers see more replies.".into())
        );
    }

    #[test]
    fn drops_an_unfinished_restart_of_the_chunk() {
        assert_eq!(
            keep("The horizon seems extremely distant. The horizon", 0.0),
            Some("The horizon seems extremely distant.".into())
        );
        assert_eq!(
            keep(
                "The chasing is what eats our week. The chasing is what eats our",
                0.0
            ),
            Some("The chasing is what eats our week.".into())
        );
        // An unfinished sentence of its own is kept: the chunk was cut mid-phrase.
        assert_eq!(
            keep("We use a spreadsheet. The problem is", 0.0),
            Some("We use a spreadsheet. The problem is".into())
        );
        // A word-prefix is not a restart ("The hor" of "The horizon" is not a word match).
        assert_eq!(
            keep("Then we ship it. The", 0.0),
            Some("Then we ship it. The".into())
        );
    }

    #[test]
    fn keeps_speech_and_removes_inline_annotations() {
        assert_eq!(
            keep(" Hello [BLANK_AUDIO] there.", 0.0),
            Some("Hello there.".into())
        );
    }
}
