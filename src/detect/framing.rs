//! Product framing: does a rep sentence present the product? A weighted sum of sales-talk
//! forms, each of which carries over to any product and wording: the vendor or its product
//! as the subject of a capability verb, offers and calls to action, customer results,
//! prices, benefits addressed to "you". The reasons that scored are the evidence.

use super::text::{has, normalise};

/// A sentence presents the product at this score.
const THRESHOLD: f32 = 1.0;

/// Verbs of what a vendor does for a customer ("we automate ...").
const CAPABILITY_VERBS: &[&str] = &[
    "help",
    "helps",
    "offer",
    "offers",
    "provide",
    "provides",
    "integrate",
    "integrates",
    "automate",
    "automates",
    "replace",
    "replaces",
    "built",
    "build",
    "builds",
    "support",
    "supports",
    "handle",
    "handles",
    "give",
    "gives",
    "sync",
    "syncs",
    "connect",
    "connects",
    "let",
    "lets",
    "save",
    "saves",
    "cut",
    "cuts",
    "fix",
    "fixes",
    "solve",
    "solves",
    "close",
    "closes",
    "include",
    "includes",
    "specialize",
    "specialise",
    "eliminate",
    "eliminates",
    "streamline",
    "streamlines",
    "deliver",
    "delivers",
    "power",
    "powers",
    "track",
    "tracks",
    "plug",
    "plugs",
    "shine",
    "shines",
    "come",
    "comes",
    "makes",
    "turn",
    "turns",
    "reduce",
    "reduces",
    "increase",
    "increases",
];

/// Category nouns for a product or its parts.
const PRODUCT_NOUNS: &[&str] = &[
    "platform",
    "product",
    "products",
    "solution",
    "solutions",
    "tool",
    "tools",
    "software",
    "app",
    "apps",
    "feature",
    "features",
    "system",
    "service",
    "services",
    "dashboard",
    "plan",
    "plans",
    "pricing",
    "integration",
    "integrations",
    "api",
    "engine",
    "assistant",
    "suite",
    "module",
    "modules",
    "technology",
    "offering",
    "bundle",
    "tier",
    "tiers",
    "package",
    "license",
    "licenses",
    "workspace",
    "portal",
    "studio",
    "connector",
    "extension",
    "plugin",
    "add",
    "version",
    "edition",
    "release",
    "ai",
    "model",
];

/// "our ..." that is not the product.
const NOT_PRODUCT: &[&str] = &[
    "team",
    "call",
    "conversation",
    "meeting",
    "chat",
    "time",
    "side",
    "end",
    "discussion",
    "agenda",
    "last",
    "first",
    "previous",
    "earlier",
    "next",
    "talk",
    "email",
    "thread",
    "calendar",
    "companies",
    "families",
    "kids",
    "office",
    "city",
    "weekend",
];

/// Words that end in -er/-or without naming a product.
const NOT_AGENTIVE: &[&str] = &[
    "other",
    "order",
    "number",
    "customer",
    "partner",
    "manager",
    "user",
    "leader",
    "founder",
    "together",
    "better",
    "later",
    "offer",
    "member",
    "owner",
    "quarter",
    "summer",
    "winter",
    "brother",
    "sister",
    "father",
    "mother",
    "daughter",
    "center",
    "letter",
    "paper",
    "water",
    "director",
    "officer",
    "investor",
    "vendor",
    "competitor",
    "floor",
    "door",
    "sector",
    "color",
    "colour",
    "honor",
    "error",
    "matter",
    "answer",
    "never",
    "ever",
    "over",
    "under",
    "after",
    "whether",
    "either",
    "neither",
    "rather",
    "further",
    "earlier",
    "major",
    "senior",
];

/// Offers and calls to action.
const OFFERS: &[&str] = &[
    "demo",
    "free trial",
    "trial",
    "try it",
    "try us",
    "pilot",
    "proposal",
    "quote",
    "send over a proposal",
    "send over pricing",
    "send over the deck",
    "send you pricing",
    "send you the deck",
    "set you up",
    "sign up",
    "get started",
    "get you started",
    "show you",
    "share my screen",
    "walk you through our",
    "walk you through the",
    "quick overview",
    "give you an overview",
    "jump straight into",
    "onboarding call",
    "contract",
];

/// Money words.
const PRICES: &[&str] = &[
    "per user",
    "per seat",
    "per month",
    "a month",
    "per year",
    "dollars",
    "euros",
    "pounds",
    "pricing",
    "discount",
    "no extra cost",
    "free for",
    "costs",
    "price",
];

/// Who gets results in a social-proof claim.
const PEERS: &[&str] = &[
    "customers",
    "clients",
    "teams",
    "companies",
    "users",
    "businesses",
    "firms",
    "people",
    "brands",
    "agencies",
    "shops",
    "organizations",
    "organisations",
];

/// Outcome verbs of a results claim.
const OUTCOMES: &[&str] = &[
    "see",
    "get",
    "save",
    "cut",
    "reduce",
    "increase",
    "double",
    "triple",
    "grow",
    "pass",
    "close",
    "win",
    "book",
    "report",
    "typically",
    "usually",
    "average",
];

/// A recap or check-back: the rep restating the prospect's words, not presenting.
const RECAP: &[&str] = &[
    "if i heard you right",
    "if i understand",
    "if i understood",
    "so you are saying",
    "sounds like",
    "what i am hearing",
    "let me make sure",
    "to recap",
];

fn agentive(w: &str) -> bool {
    let one = w.strip_suffix('s').unwrap_or(w);
    (one.len() > 4 && (one.ends_with("er") || one.ends_with("or")) && !NOT_AGENTIVE.contains(&one))
        || PRODUCT_NOUNS.contains(&w)
}

/// A present-tense verb after a singular subject ("pulls", "reads"), not a plural noun.
fn third_person(w: &str) -> bool {
    w.len() > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
}

/// The reasons a sentence presents the product, with their weights.
pub fn reasons(sentence: &str) -> Vec<(&'static str, f32)> {
    let norm = normalise(sentence);
    let w: Vec<&str> = norm.split_whitespace().collect();
    let mut out: Vec<(&'static str, f32)> = Vec::new();
    let mut add = |why: &'static str, weight: f32| {
        if !out.iter().any(|(r, _)| *r == why) {
            out.push((why, weight));
        }
    };
    for (i, word) in w.iter().enumerate() {
        let next = &w[i + 1..w.len().min(i + 4)];
        match *word {
            "we" | "we'll" | "we've" => {
                // "we automate ...", "we have a connector", "we can help", "we've built"
                let verb = next.iter().find(|v| {
                    !matches!(
                        **v,
                        "can"
                            | "also"
                            | "really"
                            | "just"
                            | "will"
                            | "would"
                            | "actually"
                            | "have"
                            | "been"
                            | "now"
                            | "then"
                    )
                });
                if verb.is_some_and(|v| CAPABILITY_VERBS.contains(v)) {
                    add("the vendor doing something for them (\"we <verb>\")", 1.0);
                }
                if next.first() == Some(&"have")
                    && next.get(1).is_some_and(|a| matches!(*a, "a" | "an"))
                {
                    add("the vendor has it (\"we have a ...\")", 1.0);
                }
            }
            "our" => {
                if next.first().is_some_and(|n| NOT_PRODUCT.contains(n)) {
                    continue;
                }
                let singular_then_verb = next.len() >= 2
                    && !next[0].ends_with('s')
                    && next[1..].iter().any(|v| third_person(v));
                if next.iter().any(|n| agentive(n)) {
                    add("the product by name (\"our <product>\")", 1.0);
                } else if singular_then_verb
                    || next.iter().skip(1).any(|v| {
                        matches!(*v, "would" | "will" | "can") || CAPABILITY_VERBS.contains(v)
                    })
                {
                    add("the product doing something (\"our <thing> <verb>\")", 1.0);
                }
            }
            "using" | "use" | "try" | "switch" | "move" | "with"
                if next.first() == Some(&"our") =>
            {
                add("their team using the product (\"with our ...\")", 1.0);
            }
            "switch" | "switched" | "move" | "moved" | "come" | "came" | "went"
                if next.starts_with(&["to", "us"]) =>
            {
                add(
                    "customers choosing the vendor (\"teams switch to us\")",
                    1.0,
                );
            }
            "with" | "to" | "for" if next.first() == Some(&"us") => {
                add("choosing the vendor (\"with us\")", 0.6)
            }
            _ => {}
        }
    }
    for phrase in OFFERS {
        if has(&norm, phrase) {
            add("an offer or call to action (demo, trial, proposal)", 1.0);
        }
    }
    for phrase in PRICES {
        if has(&norm, phrase) {
            add("a price", 1.0);
        }
    }
    // Customer results: "teams that add it see twice the replies", "clients like you cut ...".
    for (i, word) in w.iter().enumerate() {
        if PEERS.contains(word) {
            let rest = &w[i + 1..w.len().min(i + 8)];
            let framed = rest
                .first()
                .is_some_and(|n| matches!(*n, "like" | "that" | "who" | "using" | "see" | "get"))
                || i > 0 && matches!(w[i - 1], "our" | "most" | "many");
            // A results claim names the vendor or a figure; "many companies see the same
            // thing" is sympathy, not a claim.
            let vendor = w.iter().any(|x| matches!(*x, "us" | "our" | "it" | "we"))
                || rest
                    .iter()
                    .any(|x| matches!(*x, "percent" | "twice" | "half" | "double" | "triple"))
                || rest.iter().any(|x| x.chars().all(|c| c.is_ascii_digit()));
            if framed && vendor && rest.iter().any(|v| OUTCOMES.contains(v)) {
                add("customer results (\"teams like you see ...\")", 1.0);
            }
        }
    }
    if has(&norm, "percent")
        || norm.contains('%')
        || has(&norm, "twice")
        || has(&norm, "half the time")
    {
        add("a number claim", 0.5);
    }
    // Automation and speed claims: "fills all four systems automatically".
    if [
        "automatically",
        "instantly",
        "in seconds",
        "overnight",
        "out of the box",
        "end to end",
        "in real time",
        "in one click",
        "no code",
    ]
    .iter()
    .any(|p| has(&norm, p))
    {
        add("an automation or speed claim", 0.6);
    }
    // Benefits addressed to the prospect: "so your pipeline syncs", "you will never ...".
    if [
        "so you",
        "so your",
        "you will",
        "you'll",
        "you can",
        "you never",
        "lets you",
        "your reps can",
        "your team can",
    ]
    .iter()
    .any(|p| has(&norm, p))
    {
        add("a benefit promised to them (\"so you ...\")", 0.6);
    }
    if RECAP.iter().any(|p| has(&norm, p)) {
        out.clear();
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// The top reasons, when the sentence presents the product.
pub fn product_framing(sentence: &str) -> Option<String> {
    let r = reasons(sentence);
    let score: f32 = r.iter().map(|(_, w)| w).sum();
    (score >= THRESHOLD).then(|| {
        r.iter()
            .take(2)
            .map(|(why, _)| *why)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presents_the_product_in_many_wordings() {
        for s in [
            "Our scheduling platform syncs every calendar automatically.",
            "It lets you route leads in seconds, and pricing starts at ten dollars per user.",
            "Let me show you the dashboard.",
            "We automate the whole approval chain for you.",
            "Our route optimizer would fix that overnight.",
            "Teams that add it see twice the replies.",
            "I can set you up with a free trial this afternoon.",
        ] {
            assert!(product_framing(s).is_some(), "{s}");
        }
    }

    #[test]
    fn other_talk_is_not_presenting() {
        for s in [
            "We had a great quarter, thanks for asking.",
            "So you are losing deals late in the cycle.",
            "Lucky you, we are getting ours tomorrow.",
            "So if I heard you right, our team would need to see the numbers first.",
            "Thanks for making the time today.",
            "Got it, so one person assigns every lead by hand each morning.",
            "Our goal today is to learn about your team.",
            "I'll send you a recap after the call.",
            "I can send over the notes from today.",
            "Many companies see the same thing.",
            "We work with a lot of teams in your space, but every situation is different.",
            "We can keep this short.",
            "Our time is limited, so let's focus on your priorities.",
        ] {
            assert!(product_framing(s).is_none(), "{s}: {:?}", reasons(s));
        }
    }
}
