//! Triggers: the prospect naming a tool or a way of working, a gap, or a pain: the moment
//! a rep listening to sell jumps to the pitch and a rep listening to learn asks why.
//! Three forms that carry over to any domain: first-person use of a tool (a brand name or
//! a tool of the trade), absence ("we don't have ...", "nobody ..."), and the vocabulary of
//! complaint.

use super::text::{has, is_question, normalise};

/// Verbs of how a team works.
const USE_VERBS: &[&str] = &[
    "use", "uses", "using", "used", "rely", "relies", "switched", "moved", "run", "runs", "track",
    "tracks", "plan", "plans", "manage", "manages", "do", "does", "handle", "handles", "keep",
    "keeps", "store", "export", "paste", "email", "send", "search", "log", "tried", "on",
    "through", "in", "into",
];

/// Verbs that put a named product in their stack ("we switched to Zendesk").
const BRAND_VERBS: &[&str] = &[
    "use", "uses", "using", "used", "rely", "relies", "switched", "moved", "tried", "run", "runs",
    "bought", "chose", "pay", "keep", "keeps", "live", "lives",
];

/// Tools of the trade that show a way of working.
const TOOL_NOUNS: &[&str] = &[
    "spreadsheet",
    "spreadsheets",
    "sheet",
    "sheets",
    "excel",
    "whiteboard",
    "email",
    "emails",
    "inbox",
    "inboxes",
    "paper",
    "wiki",
    "calendar",
    "calendars",
    "notebook",
    "notes",
    "crm",
    "phone",
    "phones",
    "text",
    "texts",
    "slack",
    "docs",
    "document",
    "documents",
    "folder",
    "folders",
    "checklist",
    "hand",
    "files",
    "postit",
    "sticky",
    "system",
    "systems",
    "reminders",
    "printed",
    "printouts",
    "fax",
];

/// Complaint: effort, delay, loss, error, cost, feeling.
const PAIN: &[&str] = &[
    "mess",
    "messy",
    "pain",
    "painful",
    "forever",
    "ages",
    "manual",
    "manually",
    "by hand",
    "lost",
    "lose",
    "losing",
    "missing",
    "go missing",
    "late",
    "angry",
    "furious",
    "frustrated",
    "frustrating",
    "stressful",
    "stress",
    "crazy",
    "broken",
    "breaks",
    "out of date",
    "outdated",
    "swamped",
    "burnt out",
    "burned out",
    "overwhelmed",
    "expensive",
    "keep climbing",
    "hate",
    "hates",
    "annoying",
    "struggle",
    "struggling",
    "problem",
    "problems",
    "issue",
    "issues",
    "headache",
    "nightmare",
    "errors",
    "mistakes",
    "badly",
    "worse",
    "slow",
    "delays",
    "delayed",
    "wait",
    "waiting",
    "behind",
    "flagging",
    "complain",
    "complaints",
    "churn",
    "guess",
    "guessing",
    "re keys",
    "rekey",
    "copy and paste",
    "chasing",
    "chase",
    "ran out",
    "run out",
    "too long",
    "too much",
    "too many",
    "takes forever",
    "never agree",
    "falls through",
    "fall through",
    "drops",
    "dropping",
    "flat",
    "worries",
    "worried",
    "risky",
    "bottleneck",
    "takes ages",
    "drives me",
    "no idea",
    "no way to",
    "chaos",
    "chaotic",
    "missed",
    "miss",
    "retype",
    "re type",
    "re enter",
    "reenter",
    "double entry",
    "duplicate",
    "tedious",
    "clunky",
    "scattered",
    "all over the place",
];

/// Absence of a tool or a process.
const ABSENCE: &[&str] = &[
    "do not have",
    "do not use",
    "do not really",
    "do not track",
    "do not do",
    "we do not",
    "we never",
    "never record",
    "have no",
    "there is no",
    "nobody",
    "no one",
    "not using",
    "not tracking",
    "we are not",
];

/// Stock phrases that contain a pain word without meaning it.
const STOCK: &[&str] = &[
    "no problem",
    "not a problem",
    "no worries",
    "no issue",
    "no issues",
];

/// What kind of trigger a prospect sentence carries, if any.
pub fn trigger(sentence: &str) -> Option<&'static str> {
    if is_question(sentence) {
        return None;
    }
    let mut norm = normalise(sentence);
    for s in STOCK {
        norm = norm.replace(&format!(" {s} "), " ");
    }
    if PAIN.iter().any(|p| has(&norm, p)) {
        return Some("a pain");
    }
    if ABSENCE.iter().any(|p| has(&norm, p)) {
        return Some("a gap");
    }
    let words: Vec<&str> = norm.split_whitespace().collect();
    let first_person = words.iter().any(|w| {
        matches!(
            *w,
            "we" | "i" | "our" | "us" | "they" | "everyone" | "people" | "everything"
        )
    });
    // A brand: a capitalised word that does not open the sentence.
    let original: Vec<&str> = sentence.split_whitespace().collect();
    let brand = original.iter().skip(1).any(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        w.len() > 2
            && w.chars().next().is_some_and(char::is_uppercase)
            && w != "I"
            && !w.chars().all(char::is_uppercase)
    });
    let tool = words.iter().any(|w| TOOL_NOUNS.contains(w));
    let uses = words.iter().any(|w| USE_VERBS.contains(w));
    let adopts = words.iter().any(|w| BRAND_VERBS.contains(w));
    // A tool of the trade named in the prospect's own account is their way of working.
    if tool || brand && adopts && (first_person || uses) {
        return Some("a tool");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_gaps_and_pains_in_other_words() {
        for s in [
            "Honestly we just use spreadsheets for all of it.",
            "We do not have anyone doing onboarding.",
            "We are using Intercom at the moment.",
            "Paper logs, mostly.",
            "It drives me crazy.",
            "Candidates wait a week and we lose the good ones.",
            "We don't, really.",
        ] {
            assert!(trigger(s).is_some(), "{s}");
        }
    }

    #[test]
    fn pleasantries_facts_and_questions_are_not_triggers() {
        for s in [
            "The weather was lovely.",
            "No problem.",
            "Twelve people across two time zones.",
            "Our platform helps clinics manage appointments.",
            "Probably our COO, she owns the operations budget.",
            "What do you use for that?",
            "Sure, I have twenty minutes.",
        ] {
            assert!(trigger(s).is_none(), "{s}: {:?}", trigger(s));
        }
    }
}
