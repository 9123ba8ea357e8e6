//! What whisper is told came before a chunk. Whisper imitates its prompt: given bare
//! lower-case words it writes bare lower-case words, and given a fragment it finishes it
//! (the other side's overlapping "Oh, I" became the rep's "'m originally from Chicago").
//! So the prompt always opens with a short, well-punctuated line, carries only whole
//! sentences (cut at their marks), and only the chunk's own side's. Measured on the real
//! telephone call and the public calls in three voices (`scripts/transcript_probe.py`),
//! both sides' sentences read no better than one side's: the other side's words are left
//! out.

use crate::event::{PerSide, Side};

/// A line in the style transcripts should have: capitals, commas, full stops, a question.
const STYLE: &str = "Hi, thanks for taking the time today. Sure, what would you like to know?";

/// Each side's recent transcript kept for prompts (whisper takes about 250 characters).
const KEEP_CHARS: usize = 300;

#[derive(Default)]
pub struct Prompt {
    said: PerSide<Recent>,
}

/// The newest words of a transcript, and whether older ones were cut off.
#[derive(Default)]
struct Recent {
    text: String,
    clipped: bool,
}

impl Recent {
    fn push(&mut self, text: &str) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        self.text.push_str(text);
        if self.text.len() > KEEP_CHARS {
            let from = self.text.len() - KEEP_CHARS;
            let cut = self.text[from..].find(' ').map_or(from, |i| from + i + 1);
            self.text.drain(..cut);
            self.clipped = true;
        }
    }

    /// The whole sentences: up to the last sentence mark, and, when older words were cut
    /// off, from the first sentence that starts after a mark.
    fn whole_sentences(&self) -> &str {
        let t = &self.text;
        let ends = |i: usize, c: char| {
            matches!(c, '.' | '?' | '!')
                && t[i + 1..].chars().next().is_none_or(char::is_whitespace)
        };
        let Some(last) = t
            .char_indices()
            .rev()
            .find(|&(i, c)| ends(i, c))
            .map(|(i, _)| i)
        else {
            return "";
        };
        let mut from = 0;
        if self.clipped {
            match t.char_indices().find(|&(i, c)| ends(i, c)) {
                Some((first, _)) if first < last => from = first + 1,
                _ => return "",
            }
        }
        t[from..=last].trim()
    }
}

impl Prompt {
    /// Remembers what `side` was heard saying.
    pub fn heard(&mut self, side: Side, text: &str) {
        let text = text.trim();
        if !text.is_empty() {
            self.said[side].push(text);
        }
    }

    /// The prompt for `side`'s next chunk: the style line, then `side`'s last whole
    /// sentences. Text after the last sentence mark is a fragment the chunk could finish,
    /// and text without marks would teach whisper to write without them: neither is kept.
    pub fn for_side(&self, side: Side) -> String {
        let sentences = self.said[side].whole_sentences();
        if sentences.is_empty() {
            STYLE.to_string()
        } else {
            format!("{STYLE} {sentences}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_opens_with_the_style_line_and_keeps_whole_sentences_of_its_side() {
        let mut p = Prompt::default();
        assert_eq!(p.for_side(Side::Rep), STYLE);
        p.heard(Side::Rep, "How do you pay staff today?");
        p.heard(Side::Prospect, "Oh, I'm... Oh, I");
        p.heard(Side::Rep, "And who runs it");
        assert_eq!(
            p.for_side(Side::Rep),
            format!("{STYLE} How do you pay staff today?"),
            "the trailing fragment is not handed on"
        );
        assert_eq!(
            p.for_side(Side::Prospect),
            format!("{STYLE} Oh, I'm..."),
            "the other side's words are not in the rep's prompt, nor the rep's here"
        );
    }

    #[test]
    fn bare_text_is_not_carried_and_long_history_is_cut_at_a_sentence() {
        let mut p = Prompt::default();
        p.heard(
            Side::Rep,
            "so we just use spreadsheets and it kind of works",
        );
        assert_eq!(p.for_side(Side::Rep), STYLE, "no marks: nothing kept");
        for i in 0..40 {
            p.heard(Side::Rep, &format!("Sentence number {i} is here."));
        }
        let prompt = p.for_side(Side::Rep);
        let kept = prompt.strip_prefix(STYLE).unwrap().trim();
        assert!(kept.starts_with("Sentence number"), "{kept}");
        assert!(kept.ends_with("39 is here."), "{kept}");
        assert!(kept.len() <= KEEP_CHARS, "{}", kept.len());
    }
}
