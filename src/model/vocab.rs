//! Whisper's byte-level BPE vocabulary: CTranslate2 stores tokens as GPT-2 "byte-to-unicode"
//! strings; whisper.cpp wants the raw bytes.

/// Maps each char of GPT-2's printable byte alphabet back to its byte.
pub fn byte_decoder() -> std::collections::HashMap<char, u8> {
    let mut printable: Vec<u32> = (u32::from('!')..=u32::from('~'))
        .chain(u32::from('¡')..=u32::from('¬'))
        .chain(u32::from('®')..=u32::from('ÿ'))
        .collect();
    let mut chars = printable.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    printable
        .iter()
        .zip(&chars)
        .map(|(&b, &c)| (char::from_u32(c).expect("valid code point"), b as u8))
        .collect()
}

/// Decodes one token string to bytes; `None` when it holds a char outside the alphabet.
pub fn token_bytes(token: &str, decoder: &std::collections::HashMap<char, u8>) -> Option<Vec<u8>> {
    token.chars().map(|c| decoder.get(&c).copied()).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    #[error("vocabulary has no <|endoftext|> token; is this a Whisper vocabulary?")]
    NoEndOfText,
    #[error("vocabulary token {index} ({token:?}) is not GPT-2 byte-level text")]
    BadToken { index: usize, token: String },
    #[error("vocabulary.json is not a JSON list of strings")]
    Json(#[source] serde_json::Error),
}

/// Parses `vocabulary.txt` (one token per line) or `vocabulary.json` (a list of strings).
pub fn parse_tokens(text: &str, json: bool) -> Result<Vec<String>, VocabError> {
    if json {
        serde_json::from_str(text).map_err(VocabError::Json)
    } else {
        Ok(text.lines().map(str::to_owned).collect())
    }
}

/// The text tokens whisper.cpp expects, as raw bytes: all tokens before `<|endoftext|>`
/// (50256 for English-only models); multilingual models keep one more, the empty id 50256
/// that sits between the text tokens and the specials.
pub fn ggml_tokens(tokens: &[String], multilingual: bool) -> Result<Vec<Vec<u8>>, VocabError> {
    let eot = tokens
        .iter()
        .position(|t| t == "<|endoftext|>")
        .ok_or(VocabError::NoEndOfText)?;
    let decoder = byte_decoder();
    let mut out = Vec::with_capacity(eot + 1);
    for (index, token) in tokens[..eot].iter().enumerate() {
        let bytes = token_bytes(token, &decoder).ok_or_else(|| VocabError::BadToken {
            index,
            token: token.clone(),
        })?;
        out.push(bytes);
    }
    if multilingual && eot == 50256 {
        // CT2 multilingual vocabularies have <|endoftext|> at 50257; older ones at 50256.
        out.push(Vec::new());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_decoder_covers_every_byte_once() {
        let d = byte_decoder();
        assert_eq!(d.len(), 256);
        let mut seen = [false; 256];
        for &b in d.values() {
            assert!(!seen[b as usize]);
            seen[b as usize] = true;
        }
        // GPT-2: space is 'Ġ' (U+0120), newline 'Ċ' (U+010A), '!' maps to itself.
        assert_eq!(d[&'Ġ'], b' ');
        assert_eq!(d[&'Ċ'], b'\n');
        assert_eq!(d[&'!'], b'!');
    }

    #[test]
    fn tokens_are_decoded_and_cut_at_end_of_text() {
        let toks: Vec<String> = ["Ġhello", "Ċ", "Ã©", "<|endoftext|>", "<|en|>"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = ggml_tokens(&toks, false).unwrap();
        assert_eq!(
            out,
            vec![b" hello".to_vec(), b"\n".to_vec(), "é".as_bytes().to_vec()]
        );
    }

    #[test]
    fn vocabulary_without_end_of_text_is_rejected() {
        let toks = vec!["a".to_string()];
        assert!(matches!(
            ggml_tokens(&toks, false),
            Err(VocabError::NoEndOfText)
        ));
    }

    #[test]
    fn json_vocabulary_parses() {
        let toks = parse_tokens(r#"["a", "Ġb", "<|endoftext|>"]"#, true).unwrap();
        assert_eq!(toks.len(), 3);
        assert!(parse_tokens("{", true).is_err());
    }
}
