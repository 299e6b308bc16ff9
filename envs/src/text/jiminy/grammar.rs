//! A ZIL game's parser tables, read from its story file: which verbs it knows, the sentences each
//! verb takes (objects and prepositions), the words naming each object, and the directions.
//! These are the tables Infocom's parser (and ZILF's, which compiled the benchmark's games) reads
//! when it parses a command; the names of the globals and properties that point at them come from
//! the game's `_data.zap` ([`Zap`]).
//!
//! The layout, as the games use it:
//! - Dictionary entries carry part-of-speech flags in their first data byte (`PS?OBJECT` 128,
//!   `PS?VERB` 64, `PS?ADJECTIVE` 32, `PS?DIRECTION` 16, `PS?PREPOSITION` 8) and in its low two
//!   bits which part of speech the next byte's value belongs to (`P1?VERB` 1, `P1?ADJECTIVE` 2,
//!   `P1?DIRECTION` 3); another part's value is in the byte after (absent from "compact"
//!   vocabularies, which keep prepositions in the preposition table only).
//! - Global `VERBS` points at a table of words: entry `255 - verb` is that verb's syntaxes: a
//!   count, then the syntaxes, 8 bytes each (objects, preposition 1, preposition 2, find
//!   attribute 1 and 2, search options 1 and 2, action), or with `COMPACT-SYNTAXES?` 2, 4 or 7
//!   bytes (objects in the top two bits of the first byte and the first preposition's low six
//!   bits below them, the action, then find and options of object 1, then preposition 2, find and
//!   options of object 2).
//! - Global `PREPOSITIONS` points at a count, then (word, number) pairs: two words each, or a
//!   word and a byte in compact games.
//! - Objects name themselves by property `SYNONYM` (nouns, as dictionary addresses) and
//!   `ADJECTIVE` (dictionary addresses from version 4, adjective numbers in version 3); a room's
//!   `GLOBAL` property lists the "local globals" (doors, walls, windows) in it; exits are
//!   properties numbered as the direction words' values.

use std::collections::HashMap;

use moralgym_zmachine::Machine;

use super::zap::Zap;

/// One sentence a verb takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Syntax {
    /// Number of objects (0, 1 or 2).
    pub objects: u8,
    /// Preposition before the first object (or alone, after the verb, with no object).
    pub prep1: Option<String>,
    /// Preposition before the second object.
    pub prep2: Option<String>,
    /// Whether object 1 must be held (`HAVE`).
    pub have1: bool,
    /// Whether object 2 must be held.
    pub have2: bool,
    /// Whether the parser finds object 1 itself when it is left out (a `FIND` attribute).
    pub finds1: bool,
    /// Whether object 1 may be several objects, `all` among them (`MANY`).
    pub many1: bool,
    /// Whether the parser picks up objects 1 and 2 itself first when the player does not hold
    /// them (`TAKE`).
    pub take: [bool; 2],
    /// The action the sentence performs.
    pub action: u8,
}

/// Commands about the session rather than the story: modes, files, the score.
const META: [&str; 16] = [
    "verbose",
    "brief",
    "superbrief",
    "super",
    "save",
    "restore",
    "restart",
    "quit",
    "script",
    "unscript",
    "score",
    "version",
    "verify",
    "notify",
    "undo",
    "oops",
];

/// A verb: the word used for it, and the sentences it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verb {
    /// The word the game's source names the verb by, else its first synonym in the dictionary.
    pub word: String,
    /// Whether it is a command about the session (`save`, `verbose`, `score`...) or a debugging
    /// command (`$verify`, `#random`) rather than an action in the story.
    pub meta: bool,
    /// Its sentences.
    pub syntaxes: Vec<Syntax>,
}

/// A game's parser tables and the places where its world is kept.
#[derive(Clone, Debug)]
pub struct Grammar {
    /// The verbs, in verb-number order.
    pub verbs: Vec<Verb>,
    /// Direction words with the property holding that exit, one word per direction.
    pub directions: Vec<(String, u16)>,
    /// Nouns by dictionary address.
    nouns: HashMap<u16, String>,
    /// Adjectives by dictionary address (version 4 on) or adjective number (version 3).
    adjectives: HashMap<u16, String>,
    /// Whether `ADJECTIVE` holds words (version 4 on) rather than adjective numbers.
    adjective_words: bool,
    synonym: u16,
    adjective: u16,
    local_globals: Option<u16>,
    local_globals_words: bool,
    /// Global holding the player (the actor whose turn it is).
    pub winner: u8,
    /// Object under which every room sits.
    pub rooms: u16,
    /// Object whose children are in scope everywhere (ground, hands...).
    pub global_objects: Option<u16>,
    /// Attributes the parser reads: open, transparent (it looks inside objects with either) and
    /// invisible (it never finds those), where the game names them.
    pub open: Option<u16>,
    /// See `open`.
    pub transparent: Option<u16>,
    /// See `open`.
    pub invisible: Option<u16>,
    /// See `open`: a surface (the parser looks at what is on it).
    pub surface: Option<u16>,
    /// See `open`: takeable.
    pub takeable: Option<u16>,
    /// The parser's verb, direct object and indirect object globals.
    pub prsa: u8,
    /// See `prsa`.
    pub prso: u8,
    /// See `prsa`.
    pub prsi: u8,
    /// Property holding an object's (or room's) own routine.
    pub action: u16,
    /// Property holding a container's routine for what is in it, where the game has one.
    pub contfcn: Option<u16>,
    /// Argument a room's routine gets before a command (`M-BEG`), and a container's (`M-CONT`).
    pub m_beg: u16,
    /// See `m_beg`.
    pub m_cont: Option<u16>,
    /// The parser's own globals (what it parsed last, pronouns, its buffers) and the flag a
    /// refusal sets so that no time passes, which every command changes: by the ZIL library's
    /// names, `P-*`, `PRS*`, `L-PRS*`, `QCONTEXT*`, `QUOTE-FLAG`, `NOW-PRSI`, `AGAIN-*`, `OOPS-*`,
    /// `RESERVE-*`, `CLOCK-WAIT` (after an optional `GL-`).
    pub parser_globals: Vec<u8>,
    /// The tables of each action's routine and pre-routine (packed addresses by action).
    pub actions_at: usize,
    /// See `actions_at`.
    pub preactions_at: Option<usize>,
}

/// Reads `name` from `zap`, or says which name is missing.
fn need<T>(found: Option<T>, name: &str) -> Result<T, String> {
    found.ok_or_else(|| format!("the game's _data.zap names no {name}"))
}

impl Grammar {
    /// Reads the tables of the game `machine` plays, located by the names in `zap`.
    pub fn read(machine: &Machine, zap: &Zap) -> Result<Grammar, String> {
        let constant = |n: &str| need(zap.constant(n), n);
        let prop = |n: &str| -> Result<u16, String> {
            u16::try_from(constant(n)?).map_err(|_| format!("{n} is not a property"))
        };
        let global = |names: &[&str]| -> Result<u16, String> {
            let g = need(zap.global(names), &names.join(" or "))?;
            need(machine.global(g), names[0])
        };
        let verbs_at = usize::from(global(&["VERBS"])?);
        let preps_at = usize::from(global(&["PREPOSITIONS"])?);
        let version = machine.story().version();
        let dictionary = machine.dictionary();
        let compact_vocabulary = dictionary.first().is_some_and(|(_, _, data)| data.len() == 2);
        let byte =
            |a: usize| machine.read_byte(a).ok_or_else(|| format!("the parser tables run past memory at {a:#x}"));
        let word =
            |a: usize| machine.read_word(a).ok_or_else(|| format!("the parser tables run past memory at {a:#x}"));

        // Words by part of speech.
        let (ps_object, ps_verb, ps_adjective, ps_direction) = (128, 64, 32, 16);
        let value = |data: &[u8], p1: u8| -> Option<u8> {
            if data[0] & 3 == p1 { data.get(1).copied() } else { data.get(2).copied() }
        };
        let mut verb_words: HashMap<u8, String> = HashMap::new();
        let mut nouns = HashMap::new();
        let mut adjectives = HashMap::new();
        let mut directions: Vec<(String, u16)> = Vec::new();
        for (text, addr, data) in &dictionary {
            let Some(&flags) = data.first() else { continue };
            let addr = u16::try_from(*addr).map_err(|_| "the dictionary lies past 64K".to_string())?;
            if flags & ps_object != 0 {
                nouns.insert(addr, text.clone());
            }
            if flags & ps_verb != 0
                && let Some(v) = value(data, 1)
            {
                // The word the game's source names the verb by (`ACT?TAKE` for take, get, hold...),
                // else the first synonym in the dictionary.
                let named = zap.constant(&format!("ACT?{}", text.to_uppercase())) == Some(i64::from(v));
                match verb_words.get(&v) {
                    Some(_) if !named => {}
                    _ => {
                        verb_words.insert(v, text.clone());
                    }
                }
            }
            if flags & ps_adjective != 0 {
                if version >= 4 {
                    adjectives.insert(addr, text.clone());
                } else if let Some(a) = value(data, 2) {
                    adjectives.entry(u16::from(a)).or_insert_with(|| text.clone());
                }
            }
            if flags & ps_direction != 0
                && let Some(d) = value(data, 3)
            {
                // One word per direction, the shortest (`nw` rather than `northwest`).
                match directions.iter_mut().find(|(_, p)| *p == u16::from(d)) {
                    Some(w) if w.0.len() > text.len() => w.0 = text.clone(),
                    Some(_) => {}
                    None => directions.push((text.clone(), u16::from(d))),
                }
            }
        }

        // Prepositions by number.
        let mut preps: HashMap<u8, String> = HashMap::new();
        let by_addr: HashMap<usize, &String> = dictionary.iter().map(|(t, a, _)| (*a, t)).collect();
        let count = usize::from(word(preps_at)?);
        let stride = if compact_vocabulary { 3 } else { 4 };
        for i in 0..count {
            let at = preps_at + 2 + i * stride;
            let w = usize::from(word(at)?);
            let n = if compact_vocabulary { byte(at + 2)? } else { word(at + 2)? as u8 };
            if let Some(t) = by_addr.get(&w) {
                preps.entry(n).or_insert_with(|| (*t).clone());
            }
        }
        let prep = |n: u8, compact: bool| -> Option<String> {
            if n == 0 {
                return None;
            }
            let found = if compact {
                preps.iter().filter(|(k, _)| *k & 63 == n).min_by_key(|(k, _)| **k).map(|(_, w)| w.clone())
            } else {
                preps.get(&n).cloned()
            };
            Some(found.unwrap_or_else(|| format!("?prep{n}")))
        };

        // Syntaxes by verb number. A compact game stores prepositions in six bits.
        let compact = compact_vocabulary;
        let (shave, smany, stake) = (2u8, 4u8, 8u8);
        let mut numbers: Vec<u8> = verb_words.keys().copied().collect();
        numbers.sort_unstable_by(|a, b| b.cmp(a));
        let mut verbs = Vec::new();
        for v in numbers {
            let table = usize::from(word(verbs_at + 2 * usize::from(255 - v))?);
            if table == 0 {
                continue;
            }
            let n = usize::from(byte(table)?);
            let mut at = table + 1;
            let mut syntaxes = Vec::with_capacity(n);
            for _ in 0..n {
                let s = if compact {
                    let b0 = byte(at)?;
                    let objects = b0 >> 6;
                    let mut s = Syntax {
                        objects,
                        prep1: prep(b0 & 63, true),
                        prep2: None,
                        have1: false,
                        have2: false,
                        finds1: false,
                        many1: false,
                        take: [false; 2],
                        action: byte(at + 1)?,
                    };
                    at += 2;
                    if objects >= 1 {
                        s.finds1 = byte(at)? != 0;
                        s.have1 = byte(at + 1)? & shave != 0;
                        s.many1 = byte(at + 1)? & smany != 0;
                        s.take[0] = byte(at + 1)? & stake != 0;
                        at += 2;
                    }
                    if objects >= 2 {
                        s.prep2 = prep(byte(at)? & 63, true);
                        s.have2 = byte(at + 2)? & shave != 0;
                        s.take[1] = byte(at + 2)? & stake != 0;
                        at += 3;
                    }
                    s
                } else {
                    let b: Vec<u8> = (0..8).map(|k| byte(at + k)).collect::<Result<_, _>>()?;
                    at += 8;
                    Syntax {
                        objects: b[0] & 3,
                        prep1: prep(b[1], false),
                        prep2: prep(b[2], false),
                        have1: b[5] & shave != 0,
                        have2: b[6] & shave != 0,
                        finds1: b[3] != 0,
                        many1: b[5] & smany != 0,
                        take: [b[5] & stake != 0, b[6] & stake != 0],
                        action: b[7],
                    }
                };
                syntaxes.push(s);
            }
            let word = verb_words[&v].clone();
            let cut = if version <= 3 { 6 } else { 9 };
            let meta = word.starts_with(['$', '#'])
                || META.iter().any(|m| *m == word || (word.len() == cut && m.starts_with(word.as_str())));
            verbs.push(Verb { word, meta, syntaxes });
        }

        let object = |n: &str| need(zap.object(n), n);
        let attribute = |names: &[&str]| names.iter().find_map(|n| zap.constant(n)).and_then(|a| u16::try_from(a).ok());
        Ok(Grammar {
            verbs,
            directions,
            nouns,
            adjectives,
            adjective_words: version >= 4,
            synonym: prop("P?SYNONYM")?,
            adjective: prop("P?ADJECTIVE")?,
            local_globals: zap.constant("P?GLOBAL").and_then(|p| u16::try_from(p).ok()),
            local_globals_words: zap.word_properties.contains("P?GLOBAL"),
            winner: need(zap.global(&["WINNER", "GL-WINNER", "PLAYER"]), "WINNER")?,
            rooms: object("ROOMS")?,
            global_objects: zap.object("GLOBAL-OBJECTS"),
            open: attribute(&["OPENBIT", "OPENED", "FL-OPENED"]),
            transparent: attribute(&["TRANSBIT", "TRANSPARENT", "FL-TRANSPARENT"]),
            invisible: attribute(&["INVISIBLE", "FL-INVISIBLE"]),
            takeable: attribute(&["TAKEBIT", "TAKEABLE", "FL-TAKEABLE"]),
            surface: attribute(&["SURFACEBIT", "SURFACE", "FL-SURFACE"]),
            prsa: need(zap.global(&["PRSA", "GL-PRSA"]), "PRSA")?,
            prso: need(zap.global(&["PRSO", "GL-PRSO"]), "PRSO")?,
            prsi: need(zap.global(&["PRSI", "GL-PRSI"]), "PRSI")?,
            action: prop("P?ACTION")?,
            contfcn: zap.constant("P?CONTFCN").and_then(|p| u16::try_from(p).ok()),
            m_beg: ["M-BEG", "K-M-BEG"]
                .iter()
                .find_map(|n| zap.constant(n))
                .and_then(|v| u16::try_from(v).ok())
                .unwrap_or(1),
            m_cont: ["M-CONT", "K-M-CONT", "M-CONTAINER"]
                .iter()
                .find_map(|n| zap.constant(n))
                .and_then(|v| u16::try_from(v).ok()),
            parser_globals: zap
                .globals
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    let n = n.strip_prefix("GL-").unwrap_or(n);
                    [
                        "P-",
                        "PRS",
                        "L-PRS",
                        "QCONTEXT",
                        "QUOTE-FLAG",
                        "NOW-PRSI",
                        "AGAIN-",
                        "OOPS-",
                        "RESERVE-",
                        "CLOCK-WAIT",
                    ]
                    .iter()
                    .any(|p| n.starts_with(p))
                })
                .filter_map(|(g, _)| u8::try_from(g).ok())
                .collect(),
            actions_at: usize::from(global(&["ACTIONS"])?),
            preactions_at: zap
                .global(&["PREACTIONS"])
                .and_then(|g| machine.global(g))
                .map(usize::from)
                .filter(|&a| a != 0),
        })
    }

    /// The nouns naming object `o` (its `SYNONYM` words).
    pub fn nouns(&self, machine: &Machine, o: u16) -> Vec<String> {
        let Some(p) = machine.property(o, self.synonym) else { return Vec::new() };
        p.chunks_exact(2).filter_map(|w| self.nouns.get(&u16::from_be_bytes([w[0], w[1]])).cloned()).collect()
    }

    /// The adjectives describing object `o`.
    pub fn adjectives(&self, machine: &Machine, o: u16) -> Vec<String> {
        let Some(p) = machine.property(o, self.adjective) else { return Vec::new() };
        if self.adjective_words {
            p.chunks_exact(2).filter_map(|w| self.adjectives.get(&u16::from_be_bytes([w[0], w[1]])).cloned()).collect()
        } else {
            p.iter().filter_map(|a| self.adjectives.get(&u16::from(*a)).cloned()).collect()
        }
    }

    /// The local globals of room `room` (its `GLOBAL` property: bytes, or words where the game's
    /// listing gives them as words).
    pub fn local_globals(&self, machine: &Machine, room: u16) -> Vec<u16> {
        let Some(p) = self.local_globals.and_then(|g| machine.property(room, g)) else { return Vec::new() };
        if self.local_globals_words {
            p.chunks_exact(2).map(|w| u16::from_be_bytes([w[0], w[1]])).collect()
        } else {
            p.iter().map(|&b| u16::from(b)).collect()
        }
    }
}
