//! Valid actions: the commands that change a game's world now, found the way Jericho finds them
//! but from the story file's own tables. Candidates are the game's own sentences
//! ([`Grammar`]) filled with the objects its parser would find ([`scope`], [`names`]), every
//! direction, and the valid objects of a sentence that takes several joined (`take coins and
//! key`, `drop all except torch`). Each is first performed on a fork without the parser (its
//! routines called, a few hundred instructions); one that changes something there is typed as a
//! full turn on a fork and kept when the world after it differs from the world after a turn that
//! does nothing. Of the sentences whose performing changed the world in the same way (`brush X
//! with Y` printing one marker for every X and Y), one whose turn repeats that change stands for
//! the rest, which are not typed.
//!
//! "Does nothing" is measured, not listed by hand: the fork first plays a neutral command
//! (`inventory`, which every one of the games parses and which changes nothing but lets time
//! pass, so the daemons run as after any command). Objects and globals that change in that
//! neutral turn are the game's own motion (a thief walking, clocks) and are left out of every
//! comparison, as are the parser's own globals. Attributes the parser writes on every line it
//! reads, as they are at rest (moonmist clears its pronouns' flag, which most actions set), are
//! put back after performing, as reading the next line would. The rest of the object table
//! (attributes, parents, children), the globals, the score, whether the game ended, and the moral
//! markers the command printed make up "the world". Candidates that lead to the same world are
//! one action: the first is listed.

use std::collections::HashMap;

use rustc_hash::{FxHashMap, FxHashSet};

use moralgym_zmachine::{Machine, Stop};

use super::game::is_end_prompt;
use super::grammar::Grammar;
use super::markers::{expand, parse, replacement};
use crate::api::Fnv1a64;

/// The command whose turn counts as doing nothing.
pub const NEUTRAL: &str = "inventory";

/// A word no game knows: a game that answers it as it answers [`NEUTRAL`] is not reading a
/// command.
const UNKNOWN: &str = "xqzjv";

/// One valid action: the command and a fingerprint of the world it leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidAction {
    /// The command to type.
    pub command: String,
    /// Fingerprint of the world after it (equal fingerprints: equivalent commands).
    pub outcome: u64,
    /// What it printed, markers included.
    pub printed: String,
}

/// What a search found and what it cost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    /// The valid actions, in the order tried, one per outcome.
    pub actions: Vec<ValidAction>,
    /// Candidates typed on a fork.
    pub tried: usize,
    /// Candidates whose action was performed on a fork without typing them.
    pub performed: usize,
    /// Candidates not typed: performing them changed the world as performing another did, and
    /// that other, typed, repeated the change (see [`search`]).
    pub skipped: usize,
}

/// The objects the player can name now, as the game's parser searches for them: the room's
/// contents and the room's local globals (doors, walls) with whatever is in or on them, looking
/// inside what is open, transparent or a surface (and into the player); then the game's global
/// objects (the third value is where they start). Invisible objects are left out. The room (the
/// first value) is the player's outermost container below `ROOMS`.
pub fn scope(grammar: &Grammar, machine: &Machine) -> (u16, Vec<u16>, usize) {
    let player = machine.global(grammar.winner).unwrap_or(0);
    let parent = |o: u16| machine.object(o).map_or(0, |x| x.parent);
    let mut room = player;
    for _ in 0..64 {
        let p = parent(room);
        if p == 0 || p == grammar.rooms {
            break;
        }
        room = p;
    }
    let has = |o: u16, a: Option<u16>| a.is_some_and(|a| machine.attribute(o, a));
    let known = grammar.open.is_some() || grammar.transparent.is_some();
    let looks_inside = |o: u16| {
        o == room
            || o == player
            || !known
            || has(o, grammar.open)
            || has(o, grammar.transparent)
            || has(o, grammar.surface)
    };
    let children = |o: u16| {
        let mut out = Vec::new();
        let mut c = machine.object(o).map_or(0, |x| x.child);
        while c != 0 && out.len() < 4096 {
            out.push(c);
            c = machine.object(c).map_or(0, |x| x.sibling);
        }
        out
    };
    let mut out = Vec::new();
    let mut seen = FxHashSet::from_iter([room]);
    // Popped in order: the player (carried things first), the room's contents, local globals.
    let mut stack: Vec<u16> = grammar.local_globals(machine, room);
    stack.reverse();
    stack.extend(children(room).into_iter().rev());
    stack.push(player);
    while let Some(o) = stack.pop() {
        if o == 0 || !seen.insert(o) || seen.len() > 4096 {
            continue;
        }
        if o != player && !has(o, grammar.invisible) {
            out.push(o);
        }
        if o == player || looks_inside(o) {
            stack.extend(children(o).into_iter().rev());
        }
    }
    let locals = out.len();
    if let Some(g) = grammar.global_objects {
        out.extend(children(g).into_iter().filter(|o| !seen.contains(o) && !has(*o, grammar.invisible)));
    }
    (room, out, locals)
}

/// Whether `o` is inside `holder` at any depth.
fn within(machine: &Machine, o: u16, holder: u16) -> bool {
    let mut at = o;
    for _ in 0..64 {
        at = machine.object(at).map_or(0, |x| x.parent);
        if at == 0 {
            return false;
        }
        if at == holder {
            return true;
        }
    }
    false
}

/// How to name each object in `objects` so the parser takes it for that one: its first noun no
/// other object answers to, else an adjective and a noun no other object answers to together. A noun or adjective
/// the dictionary cut short (six letters in version 3, nine later) is written out in full where
/// the object's own name has the whole word. Objects without a noun are left out.
pub fn names(grammar: &Grammar, machine: &Machine, objects: &[u16]) -> Vec<(u16, String)> {
    let words: Vec<(u16, Vec<String>, Vec<String>, String)> = objects
        .iter()
        .map(|&o| {
            let name = machine.object(o).map(|x| x.name.to_lowercase()).unwrap_or_default();
            (o, grammar.nouns(machine, o), grammar.adjectives(machine, o), name)
        })
        .filter(|w| !w.1.is_empty())
        .collect();
    let cut = if machine.story().version() <= 3 { 6 } else { 9 };
    let whole = |word: &str, name: &str| -> String {
        if word.len() == cut
            && let Some(w) = name.split(|c: char| !c.is_ascii_alphanumeric()).find(|w| w.starts_with(word))
        {
            return w.to_string();
        }
        word.to_string()
    };
    words
        .iter()
        .map(|(o, nouns, adjectives, name)| {
            // Another object the parser would also take for `adjective noun`.
            let clash = |adjective: Option<&String>, noun: &String| {
                words.iter().any(|(p, n, a, _)| p != o && n.contains(noun) && adjective.is_none_or(|x| a.contains(x)))
            };
            let phrase = match nouns.iter().find(|n| !clash(None, n)) {
                Some(n) => whole(n, name),
                None => {
                    let pair =
                        adjectives.iter().find_map(|a| nouns.iter().find(|n| !clash(Some(a), n)).map(|n| (a, n)));
                    match pair.or_else(|| adjectives.first().map(|a| (a, &nouns[0]))) {
                        Some((a, n)) => format!("{} {}", whole(a, name), whole(n, name)),
                        None => whole(&nouns[0], name),
                    }
                }
            };
            (*o, phrase)
        })
        .collect()
}

/// The routines object `o` brings to a sentence: its own, and its container's routine for what
/// is in it (0 where there is none, and for object 0).
fn own_routines(grammar: &Grammar, machine: &Machine, o: u16) -> [u16; 2] {
    let routine = |o: u16, p: u16| -> u16 {
        machine.property(o, p).filter(|d| d.len() == 2).map_or(0, |d| u16::from_be_bytes([d[0], d[1]]))
    };
    if o == 0 {
        return [0, 0];
    }
    let parent = machine.object(o).map_or(0, |x| x.parent);
    [routine(o, grammar.action), grammar.contfcn.map_or(0, |p| routine(parent, p))]
}

/// Instructions one routine may take when an action is performed on a fork: more than any
/// routine of the benchmark's games takes in play; one called out of its context may loop.
const PERFORM_BUDGET: u64 = 20_000;

/// What performing an action on a fork showed.
struct Performed {
    /// Whether what the world holds changed (not only the order of siblings), a marker was
    /// printed, or a routine failed on the fork (or stopped to ask the player something).
    changes: bool,
    /// What performing changed of what the world holds, and the world it led to: not where a
    /// routine failed on the fork.
    change: Option<(u64, Change)>,
    /// Whether the direct and the indirect object mattered: read, or their own routine called.
    reads: [bool; 2],
}

/// Types commands on a fork and keeps those that change the world, one per outcome.
struct Tester<'a> {
    machine: &'a Machine,
    baseline: Baseline<'a>,
    /// Commands to type, in the order they were chosen, each with its class and action where
    /// it has a class.
    queued: Vec<(String, Option<(Class, u8)>)>,
    /// The change performing made, by class.
    changes: FxHashMap<Class, Change>,
    /// The outcomes of the actions found so far.
    outcomes: FxHashSet<u64>,
    found: Search,
}

/// Commands typed by one thread of [`Tester::run`].
const TYPED_PER_TASK: usize = 32;

/// The class of a command whose performing changed the world: the world it led to, and the
/// objects the parser may take out of what holds them first (0 where none; see [`sentences`]).
type Class = (u64, [u16; 2]);

/// What typing a command showed: the world after it and what it printed (None: the game could
/// not take it).
type Typed = Option<(u64, String)>;

impl Tester<'_> {
    /// Queues `command` to be typed.
    fn test(&mut self, command: String) {
        self.queued.push((command, None));
    }

    /// Queues `command`, of the class `class`, whose performing `action` made `change`: of the
    /// commands of one class, one whose turn repeats that change stands for the rest.
    fn test_like(&mut self, command: String, class: Class, action: u8, change: Change) {
        self.changes.entry(class).or_insert(change);
        self.queued.push((command, Some((class, action))));
    }

    /// Types the queued commands, spread over threads (each on a fork of its own), and keeps
    /// those that change the world, the first of each new outcome in queue order.
    ///
    /// Performing the commands of one class changed the world in one way (`brush X with Y`, for
    /// every X and Y, printing the same marker). Once one of them, typed, repeats that change
    /// ([`Change::repeats`]: the parser took it, and the action did what performing it did), it
    /// stands for the rest, which are not typed. They are typed in rounds: each round types the
    /// commands without a class and, of each class not yet answered, the next members in queue
    /// order (one, then two, four...). Of a class's members of one action, once [`ALIKE`] turns
    /// all led to one world, the rest are taken to lead there too and are not typed either. The
    /// rounds do not depend on the threads, so the list is the same on any number of them.
    fn run(&mut self) {
        let queued = std::mem::take(&mut self.queued);
        let classes: Vec<Option<(Class, u8)>> = queued.iter().map(|(_, class)| *class).collect();
        let typed = in_rounds(
            &classes,
            |shown: &Typed| shown.as_ref().map(|(w, _)| *w),
            |round| {
                let commands: Vec<&(String, Option<(Class, u8)>)> = round.iter().map(|&k| &queued[k]).collect();
                self.type_all(&commands)
            },
        );
        for ((command, _), result) in queued.into_iter().zip(typed) {
            let Some(result) = result else {
                self.found.skipped += 1;
                continue;
            };
            let Some((w, printed)) = result else { continue };
            self.found.tried += 1;
            if w != self.baseline.nothing && self.outcomes.insert(w) {
                self.found.actions.push(ValidAction { command, outcome: w, printed });
            }
        }
    }

    /// Types each of `commands` on a fork of the machine searched, in parallel: what each
    /// showed, and, for one with a class, whether its turn repeated the change performing made.
    fn type_all(&self, commands: &[&(String, Option<(Class, u8)>)]) -> Vec<(Typed, bool)> {
        use rayon::prelude::*;
        let (machine, baseline, changes) = (self.machine, &self.baseline, &self.changes);
        commands
            .par_chunks(TYPED_PER_TASK)
            .flat_map_iter(|chunk| {
                let mut fork = machine.clone();
                chunk
                    .iter()
                    .map(|(command, class)| {
                        fork.restore_from(machine);
                        fork.set_budget(TURN_BUDGET);
                        let Ok(stop) = fork.send(command) else { return (None, false) };
                        let text = printed(&fork);
                        let change = baseline.change(machine, &fork, &text);
                        let repeats = class.and_then(|(c, _)| changes.get(&c)).is_some_and(|c| change.repeats(c));
                        (Some((change.world(&stop), text)), repeats)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// Members of one action in a class whose turns, all leading to one world, stand for the
/// action's other members: three rounds (1 + 2 + 4).
const ALIKE: usize = 7;

/// The members of a group (of one action in a class) typed so far, and the world they all led
/// to (None once two differed; inside, None where the game could not take them).
struct Group {
    typed: usize,
    world: Option<Option<u64>>,
}

impl Group {
    /// Whether the members typed stand for the group's others.
    fn answered(&self) -> bool {
        self.typed >= ALIKE && self.world.is_some()
    }
}

/// Which items to type, in the rounds [`Tester::run`] describes: `classes[k]` is item k's class
/// and group within it (None: typed in the first round); `type_round` types the items it is
/// given (in queue order) and says for each what it showed and whether it stands for its class.
/// The members of a group are not typed further once [`ALIKE`] of them showed one world
/// (`world` says which; None: the game could not take it). What each item showed, None for
/// those not typed.
fn in_rounds<C: Copy + Eq + std::hash::Hash, G: Copy + Eq + std::hash::Hash, T>(
    classes: &[Option<(C, G)>],
    world: impl Fn(&T) -> Option<u64>,
    mut type_round: impl FnMut(&[usize]) -> Vec<(T, bool)>,
) -> Vec<Option<T>> {
    // Per class: the members not typed yet (in queue order, last first), how many the next
    // round types, and whether one stood for the class.
    let mut members: Vec<(Vec<usize>, usize, bool)> = Vec::new();
    let mut class_at: FxHashMap<C, usize> = FxHashMap::default();
    let mut round: Vec<usize> = Vec::new();
    for (k, class) in classes.iter().enumerate() {
        match class {
            None => round.push(k),
            Some((c, _)) => {
                let at = *class_at.entry(*c).or_insert_with(|| {
                    members.push((Vec::new(), 1, false));
                    members.len() - 1
                });
                members[at].0.push(k);
            }
        }
    }
    for m in &mut members {
        m.0.reverse();
    }
    let mut groups: FxHashMap<(C, G), Group> = FxHashMap::default();
    let mut typed: Vec<Option<T>> = std::iter::repeat_with(|| None).take(classes.len()).collect();
    loop {
        for (pending, next, answered) in &mut members {
            let mut taken = 0;
            while !*answered && taken < *next {
                let Some(k) = pending.pop() else { break };
                if !classes[k].and_then(|g| groups.get(&g)).is_some_and(Group::answered) {
                    round.push(k);
                    taken += 1;
                }
            }
            *next *= 2;
        }
        if round.is_empty() {
            return typed;
        }
        round.sort_unstable();
        for (&k, (shown, stands)) in round.iter().zip(type_round(&round)) {
            if let Some((c, g)) = classes[k] {
                members[class_at[&c]].2 |= stands;
                let shown_world = world(&shown);
                let group = groups.entry((c, g)).or_insert(Group { typed: 0, world: Some(shown_world) });
                group.typed += 1;
                if group.world != Some(shown_world) {
                    group.world = None;
                }
            }
            typed[k] = Some(shown);
        }
        round.clear();
    }
}

/// Most valid objects of one sentence that are joined in pairs: a room of a dozen objects would
/// add 66 pairs to the list (joined sentences come after every single action, so `max_actions`
/// drops them first).
const MOST_JOINED: usize = 8;

/// Sentences whose first object may be several (`MANY`), by what surrounds that object (the
/// verb and preposition before it, and any second object after it), with the names of the
/// objects tried in it: once the single sentences are typed, the valid ones are joined, as the
/// walkthroughs join them (`take coins and key`, `drop all except torch`).
#[derive(Default)]
struct Conjunctions<'g> {
    /// The names of the objects tried (each names one object).
    names: Vec<String>,
    /// The words before the objects and after them, and the objects tried (in `names`).
    groups: Vec<(String, String, Vec<usize>)>,
    /// Where each sentence's group is, by its verb and prepositions and the second object's
    /// name (in `names`).
    index: FxHashMap<([Option<&'g str>; 3], Option<usize>), usize>,
}

impl<'g> Conjunctions<'g> {
    /// Adds the object named `names[name]` to the sentence `words` (verb, first and second
    /// preposition) with the second object named `names[second]`.
    fn add(&mut self, words: [Option<&'g str>; 3], second: Option<usize>, name: usize) {
        let (groups, names) = (&mut self.groups, &self.names);
        let at = *self.index.entry((words, second)).or_insert_with(|| {
            let [v, p1, p2] = words;
            let after = join(&[p2, second.map(|k| names[k].as_str())]);
            groups.push((join(&[v, p1]), after, Vec::new()));
            groups.len() - 1
        });
        groups[at].2.push(name);
    }

    /// Queues, for each sentence with at least two valid objects, each pair of them joined by
    /// `and` (where there are at most [`MOST_JOINED`]), then `all except` each of them.
    fn queue(self, t: &mut Tester) {
        let valid: FxHashSet<String> = t.found.actions.iter().map(|a| a.command.clone()).collect();
        let sentence = |before: &str, objects: &str, after: &str| {
            [before, objects, after].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ")
        };
        for (before, after, tried) in self.groups {
            let names = tried.iter().map(|&k| &self.names[k]);
            let ok: Vec<&String> = names.filter(|n| valid.contains(&sentence(&before, n, &after))).collect();
            if ok.len() < 2 {
                continue;
            }
            if ok.len() <= MOST_JOINED {
                for (i, a) in ok.iter().enumerate() {
                    for b in &ok[i + 1..] {
                        t.test(sentence(&before, &format!("{a} and {b}"), &after));
                    }
                }
            }
            for a in &ok {
                t.test(sentence(&before, &format!("all except {a}"), &after));
            }
        }
    }
}

/// The valid actions now of the game `machine` plays (waiting for a command): every direction,
/// then each sentence of each verb with the objects in scope (one the player holds where the
/// sentence says `HAVE`), typed on a fork and kept when the world after it differs from the world
/// after [`NEUTRAL`]. Without parser tables (`grammar` None), or where the game asks a question
/// (it answers [`NEUTRAL`] as it answers a word it does not know), the candidates are the
/// story's dictionary words alone. A sentence is typed only when performing its action on its
/// objects (its routines called on a fork, without the parser) changes something; sentences of
/// the same action on the same objects are tried once, and of those whose performing changed the
/// world alike, only until one's turn repeats the change ([`Search::skipped`]). Then the valid
/// objects of each sentence that takes several are joined (`take coins and key`, `drop all
/// except torch`).
/// `score` is the score variable, when the game has one; `replacements` the game's replacement
/// texts (markers in them count); `scratch` is the fork, reused.
pub fn search(
    grammar: Option<&Grammar>,
    machine: &Machine,
    score: Option<u8>,
    replacements: &HashMap<u32, String>,
    scratch: &mut Machine,
) -> Search {
    let parser = grammar.map_or(&[][..], |g| &g.parser_globals);
    let baseline = Baseline::new(parser, machine, score, replacements, scratch);
    let mut t = Tester {
        machine,
        baseline,
        queued: Vec::new(),
        changes: FxHashMap::default(),
        outcomes: FxHashSet::default(),
        found: Search::default(),
    };
    // A game that answers the neutral command as it answers a word it does not know is not
    // reading a command (it asks a question: `Please type YES or NO`): its sentences mean
    // nothing there, only its words.
    let asked =
        grammar.is_some() && t.baseline.learn_resets(machine, scratch).is_some_and(|said| said == t.baseline.said);
    match grammar.filter(|_| !asked) {
        Some(g) => {
            let joined = sentences(g, &mut t);
            t.run();
            joined.queue(&mut t);
        }
        None => {
            // A story whose parser tables are unknown, or a question: each word it knows, alone.
            let mut words: Vec<String> = machine.dictionary().into_iter().map(|(w, _, _)| w).collect();
            words.dedup();
            for w in words {
                t.test(w);
            }
        }
    }
    t.run();
    t.found
}

/// The search of [`search`] for a game whose parser tables are known: queues the single
/// sentences, and returns those that may be joined.
fn sentences<'g>(grammar: &'g Grammar, t: &mut Tester) -> Conjunctions<'g> {
    let mut joined = Conjunctions::default();
    let machine = t.machine;
    let (_, objects, locals) = scope(grammar, machine);
    let player = machine.global(grammar.winner).unwrap_or(0);
    let named = names(grammar, machine, &objects);
    joined.names = named.iter().map(|(_, n)| n.clone()).collect();
    let held: Vec<bool> = named.iter().map(|&(o, _)| within(machine, o, player)).collect();
    // The game's global objects (the sky, hands, topics) are named alone, not in pairs.
    let everywhere: FxHashSet<u16> = objects[locals..].iter().copied().collect();
    let local: Vec<bool> = named.iter().map(|(o, _)| !everywhere.contains(o)).collect();
    // Every direction, not only the room's exits: rooms and vehicles may take a direction in
    // their own code (a maze, a ship under way).
    for (w, _) in &grammar.directions {
        t.test(w.clone());
    }
    let mut seen: FxHashSet<(u8, u16, u16)> = FxHashSet::default();
    // The routines each object brings, and the player's and its place's, read once.
    let routines: FxHashMap<u16, [u16; 2]> =
        named.iter().map(|&(o, _)| (o, own_routines(grammar, machine, o))).collect();
    let place = machine.object(player).map_or(0, |x| x.parent);
    // Objects the parser would pick up before a sentence marked `TAKE`: that sentence then
    // changes the world whatever its action does, so it is typed.
    let pickup: Vec<bool> = named
        .iter()
        .zip(&held)
        .map(|((o, _), h)| !h && grammar.takeable.is_some_and(|a| machine.attribute(*o, a)))
        .collect();
    // Objects held inside something held (a card in a pocket), which the parser of some games
    // takes out before a sentence marked `TAKE`: a change performing does not make, so such
    // a sentence stands only for those that take out the same objects.
    let inside: Vec<bool> = named
        .iter()
        .zip(&held)
        .map(|((o, _), h)| {
            *h && machine.object(*o).is_some_and(|x| x.parent != player)
                && grammar.takeable.is_some_and(|a| machine.attribute(*o, a))
        })
        .collect();
    // The sentences in the order they are typed; those to perform first are performed per
    // action, the actions in parallel (what one sentence's performing teaches, that an object
    // was not read, holds only for its action), and typed in that order: the same list on any
    // number of threads.
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut candidate = |words, perform, taken| candidates.push(Candidate { words, perform, taken });
    for verb in grammar.verbs.iter().filter(|v| !v.meta) {
        for s in &verb.syntaxes {
            let (v, p1, p2, a) = (Some(verb.word.as_str()), s.prep1.as_deref(), s.prep2.as_deref(), s.action);
            let words = [v, p1, p2];
            match s.objects {
                0 => {
                    if seen.insert((a, 0, 0)) {
                        candidate([v, p1, None, None, None], None, [0, 0]);
                    }
                }
                1 => {
                    if s.many1 && seen.insert((a, u16::MAX, 0)) {
                        candidate([v, p1, Some("all"), None, None], None, [0, 0]);
                    }
                    for (i, (o, n)) in named.iter().enumerate() {
                        if (!s.have1 || held[i]) && seen.insert((a, *o, 0)) {
                            let takes = s.take[0] && pickup[i];
                            let taken = [if s.take[0] && inside[i] { *o } else { 0 }, 0];
                            candidate([v, p1, Some(n), p2, None], (!takes).then_some((a, [*o, 0])), taken);
                            if s.many1 && local[i] {
                                joined.add(words, None, i);
                            }
                        }
                    }
                }
                _ => {
                    for (i, (o1, n1)) in named.iter().enumerate() {
                        if s.have1 && !held[i] || !local[i] {
                            continue;
                        }
                        for (j, (o2, n2)) in named.iter().enumerate() {
                            if i != j && local[j] && (!s.have2 || held[j]) && seen.insert((a, *o1, *o2)) {
                                let takes = s.take[0] && pickup[i] || s.take[1] && pickup[j];
                                let taken = [
                                    if s.take[0] && inside[i] { *o1 } else { 0 },
                                    if s.take[1] && inside[j] { *o2 } else { 0 },
                                ];
                                candidate([v, p1, Some(n1), p2, Some(n2)], (!takes).then_some((a, [*o1, *o2])), taken);
                                if s.many1 {
                                    joined.add(words, Some(j), i);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let general = [own_routines(grammar, machine, player)[0], own_routines(grammar, machine, place)[0]];
    let context = Context { grammar, machine, baseline: &t.baseline, routines: &routines, general };
    let (verdicts, performed) = context.perform(&candidates);
    t.found.performed += performed;
    for (c, verdict) in candidates.iter().zip(verdicts) {
        match verdict {
            Verdict::Skip => {}
            Verdict::Type => t.test(join(&c.words)),
            Verdict::Like(w, change) => {
                let action = c.perform.map_or(0, |(a, _)| a);
                t.test_like(join(&c.words), (w, c.taken), action, change)
            }
        }
    }
    joined
}

/// Words joined by spaces, those absent left out.
fn join(words: &[Option<&str>]) -> String {
    words.iter().flatten().copied().collect::<Vec<_>>().join(" ")
}

/// Whether to type a candidate, as performing it decided.
enum Verdict {
    /// Not to type: performing its action changed nothing.
    Skip,
    /// To type.
    Type,
    /// To type, unless another whose performing led to the same world (given here, with the
    /// change) was typed and repeated the change ([`Tester::run`]).
    Like(u64, Change),
}

/// A sentence [`sentences`] may type (its words, joined when it is typed): as it is, or only
/// when performing its action on its objects (`perform`) changes something.
struct Candidate<'a> {
    words: [Option<&'a str>; 5],
    perform: Option<(u8, [u16; 2])>,
    /// The objects the parser may take out of what holds them first (0 where none).
    taken: [u16; 2],
}

/// What performing sentences on forks reads: the game, the state searched, the baseline, the
/// routines each object brings, and the player's and its place's.
struct Context<'a> {
    grammar: &'a Grammar,
    machine: &'a Machine,
    baseline: &'a Baseline<'a>,
    routines: &'a FxHashMap<u16, [u16; 2]>,
    general: [u16; 2],
}

impl Context<'_> {
    /// Which candidates to type (those typed as they are, and those whose performing changed
    /// something, with that change where a turn may repeat it), and how many were performed.
    /// Each action's candidates are performed in order on a fork of their own, the actions in
    /// parallel: what one performing teaches (that an object in a slot was never read, so that
    /// any other with the same routines gets the same answer) holds for that action alone, so
    /// the answer is the same on any number of threads.
    fn perform(&self, candidates: &[Candidate]) -> (Vec<Verdict>, usize) {
        use rayon::prelude::*;
        let mut by_action: Vec<Vec<usize>> = vec![Vec::new(); 256];
        for (k, c) in candidates.iter().enumerate() {
            if let Some((action, _)) = c.perform {
                by_action[usize::from(action)].push(k);
            }
        }
        let performed: Vec<(usize, Performed)> = by_action
            .par_iter()
            .filter(|ks| !ks.is_empty())
            .map_init(|| self.machine.clone(), |fork, ks| self.perform_action(candidates, ks, fork))
            .flatten_iter()
            .collect();
        let mut verdicts: Vec<Verdict> =
            candidates.iter().map(|c| if c.perform.is_none() { Verdict::Type } else { Verdict::Skip }).collect();
        let count = performed.len();
        for (k, p) in performed {
            verdicts[k] = match p.change {
                _ if !p.changes => Verdict::Skip,
                Some((w, change)) => Verdict::Like(w, change),
                None => Verdict::Type,
            };
        }
        (verdicts, count)
    }

    /// Whether action `action` on `objects` changes the world when the game performs it: the
    /// routines the game's `PERFORM` calls are called on a fork in its order (the player's, the
    /// player's room or vehicle's with `M-BEG`, the action's pre-routine, the indirect object's, the
    /// direct object's container's, the direct object's, the action's own), until one answers
    /// true, without the parser and the daemons, and the world compared. This costs a few hundred
    /// instructions where a turn costs thousands; a change (or a routine that fails on the fork) is
    /// then confirmed by a turn. Also says whether the routines read the direct and the indirect
    /// object: one they never read cannot change the answer.
    /// `routines` holds what [`own_routines`] gives for the two objects. `prefix` says whether
    /// the player's and the room's routines, called for an earlier sentence of this action,
    /// answered false without reading its objects and left the fork as it was: then they do
    /// the same for every object, and are not called again (None until a sentence tells).
    fn performs(
        &self,
        scratch: &mut Machine,
        action: u8,
        objects: [u16; 2],
        routines: [[u16; 2]; 2],
        prefix: &mut Option<bool>,
    ) -> Performed {
        let (machine, baseline, grammar, general) = (self.machine, self.baseline, self.grammar, self.general);
        let table = |at: usize| machine.read_word(at + 2 * usize::from(action)).unwrap_or(0);
        let [o, i] = objects;
        let [o_own, i_own] = routines;
        let m_beg = [grammar.m_beg];
        let calls: [(u16, &[u16]); 7] = [
            (general[0], &[]),
            (general[1], &m_beg),
            (grammar.preactions_at.map_or(0, table), &[]),
            (i_own[0], &[]),
            (o_own[1], grammar.m_cont.as_slice()),
            (o_own[0], &[]),
            (table(grammar.actions_at), &[]),
        ];
        scratch.restore_from(machine);
        scratch.set_global(grammar.prsa, u16::from(action));
        scratch.set_global(grammar.prso, o);
        scratch.set_global(grammar.prsi, i);
        scratch.watch_reads(&[grammar.prso + 16, grammar.prsi + 16]);
        // The fork is the state searched but for the parser's globals, which do not count: if
        // nothing is written from here on, nothing the world holds changes.
        let writes = scratch.memory_writes();
        let mut failed = false;
        // Whether a routine of the direct or indirect object itself was called: the answer then
        // depends on which object it is, read or not.
        let mut own = [false; 2];
        for (k, (packed, args)) in calls.into_iter().enumerate() {
            if k < 2 && *prefix == Some(true) {
                continue;
            }
            if k == 2 && prefix.is_none() {
                let parser = [grammar.prsa, grammar.prso, grammar.prsi];
                let read = scratch.was_read(grammar.prso + 16) || scratch.was_read(grammar.prsi + 16);
                *prefix = Some(!read && scratch.same_state_except(machine, &parser));
            }
            if packed == 0 {
                continue;
            }
            match k {
                3 => own[1] = true,
                4 | 5 => own[0] = true,
                _ => {}
            }
            match scratch.call_routine(packed, args, PERFORM_BUDGET) {
                Ok(0) => {}
                Ok(_) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let reads = [own[0] || scratch.was_read(grammar.prso + 16), own[1] || scratch.was_read(grammar.prsi + 16)];
        if failed {
            return Performed { changes: true, change: None, reads };
        }
        baseline.reset(scratch);
        // Text is only looked at for markers, which are in brackets.
        let bracket = scratch.output().contains('[') || scratch.upper_output().contains('[');
        let text = bracket.then(|| printed(scratch));
        let changed = scratch.memory_writes() != writes && baseline.changed(machine, scratch);
        if !changed && !text.as_deref().is_some_and(|t| holds_marker(t, baseline.replacements)) {
            return Performed { changes: false, change: None, reads };
        }
        let change = baseline.change(machine, scratch, &text.unwrap_or_else(|| printed(scratch)));
        let world = change.world(&Stop::Line);
        // Where only the order of siblings changed, the world is as it was.
        let changes = world != baseline.still;
        Performed { changes, change: changes.then_some((world, change)), reads }
    }

    /// Performs the candidates `ks` (of one action, in order) on `fork`: whether each changed
    /// something, for those performed (one whose answer an earlier one showed is skipped).
    fn perform_action(&self, candidates: &[Candidate], ks: &[usize], fork: &mut Machine) -> Vec<(usize, Performed)> {
        let own = |o: u16| self.routines.get(&o).copied().unwrap_or([0, 0]);
        // Sentences whose answer did not depend on the object in one slot: by slot, the other
        // object, and the routines of its own that an object in that slot brings (objects
        // bringing the same routines get the same answer).
        let mut unread: FxHashSet<(usize, u16, [u16; 2])> = FxHashSet::default();
        let mut out = Vec::new();
        let mut prefix = None;
        for &k in ks {
            let Some((action, objects)) = candidates[k].perform else { continue };
            let [o, i] = objects;
            let (o_own, i_own) = (own(o), own(i));
            if unread.contains(&(0, i, o_own)) || unread.contains(&(1, o, i_own)) {
                continue;
            }
            let p = self.performs(fork, action, objects, [o_own, i_own], &mut prefix);
            for (slot, own_slot) in [o_own, i_own].into_iter().enumerate() {
                if objects[slot] != 0 && !p.reads[slot] {
                    unread.insert((slot, objects[1 - slot], own_slot));
                }
            }
            out.push((k, p));
        }
        out
    }
}

/// Instructions one candidate's turn may take on a fork: about five times the longest turn that
/// any game took that completed, in its walkthrough or any search over it (46,789, `wait for
/// police` in Suspect); a candidate past it is dropped. Some games loop for ever on a sentence no
/// one types in play (Spellbreaker's `crack down X spells with carpet` on the flying carpet, in
/// Jericho as here), and each such candidate costs the whole budget.
const TURN_BUDGET: u64 = 250_000;

/// Where the global variables lie in dynamic memory (the header's word 0x0C gives the address).
fn global_table_at(machine: &Machine) -> std::ops::Range<usize> {
    let len = machine.memory().len();
    let start = usize::from(machine.read_word(0x0c).unwrap_or(0)).min(len);
    start..(start + 480).min(len)
}

/// The units of `size` bytes in which `a` and `b` differ, in order (of the bytes both hold):
/// equal memory is passed over eight bytes at a time, and the first differing byte of eight is
/// found from their exclusive or.
fn differing<'m>(a: &'m [u8], b: &'m [u8], size: usize) -> impl Iterator<Item = usize> + 'm {
    let n = a.len().min(b.len());
    let word = |t: &[u8], at: usize| {
        let mut w = [0; 8];
        w.copy_from_slice(&t[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < n {
            let first = if at + 8 <= n {
                match word(a, at) ^ word(b, at) {
                    0 => {
                        at += 8;
                        continue;
                    }
                    // Little-endian: the lowest set bit lies in the first differing byte.
                    x => at + (x.trailing_zeros() / 8) as usize,
                }
            } else if a[at] != b[at] {
                at
            } else {
                at += 1;
                continue;
            };
            let unit = first / size;
            at = (unit + 1) * size;
            return Some(unit);
        }
        None
    })
}

/// The entries of `size` bytes of the table at `table` (in dynamic memory) in which `before`
/// and `after` differ, in order: only where either may have written since they were equal
/// ([`Machine::differing_parts`]), each part widened to whole entries.
fn differing_entries<'m>(
    before: &'m Machine,
    after: &'m Machine,
    table: std::ops::Range<usize>,
    size: usize,
) -> impl Iterator<Item = usize> + 'm {
    let (a, b) = (before.memory(), after.memory());
    let end = table.end.min(a.len()).min(b.len());
    let mut last = None;
    after
        .differing_parts(before, table.clone())
        .flat_map(move |part| {
            let first = (part.start - table.start) / size;
            let (from, to) =
                (table.start + first * size, (table.start + (part.end - table.start).div_ceil(size) * size).min(end));
            differing(a.get(from..to).unwrap_or_default(), b.get(from..to).unwrap_or_default(), size)
                .map(move |u| first + u)
        })
        // An entry across two parts is found in both.
        .filter(move |&u| last.replace(u) != Some(u))
}

/// What `machine` printed since its output was last taken, both windows (markers included).
fn printed(machine: &Machine) -> String {
    let mut out = machine.output().to_string();
    out.push_str(machine.upper_output());
    out
}

/// What a turn that does nothing changes, and so what "the world" leaves out.
struct Baseline<'r> {
    /// The game's replacement texts (`[RIDX: n]`), a few of which hold markers.
    replacements: &'r HashMap<u32, String>,
    entry: usize,
    /// Objects the neutral turn changed (the game's own motion).
    noise: Vec<bool>,
    /// Globals that make up the world: not the parser's, not changed by the neutral turn (a
    /// flag per global; the score is apart).
    counts: Vec<bool>,
    score: Option<u8>,
    /// The world after the neutral turn, and what it printed.
    nothing: u64,
    said: String,
    /// The world where nothing changed and nothing was printed.
    still: u64,
    /// Attributes the parser writes on every line it reads, with the value they have at rest
    /// (moonmist clears the pronoun objects' flag that its actions set): a change to them lasts
    /// until the next command is read, so performing puts them back ([`Baseline::learn_resets`]).
    resets: Vec<(u16, u16, bool)>,
}

impl<'r> Baseline<'r> {
    /// Plays [`NEUTRAL`] on `scratch`, a fork of `machine`.
    fn new(
        parser: &[u8],
        machine: &Machine,
        score: Option<u8>,
        replacements: &'r HashMap<u32, String>,
        scratch: &mut Machine,
    ) -> Baseline<'r> {
        let entry = if machine.story().version() <= 3 { 9 } else { 14 };
        let (stop, resets) = logged_turn(machine, NEUTRAL, scratch);
        let stop = stop.unwrap_or(Stop::Quit);
        let noise = machine
            .object_entries()
            .chunks(entry)
            .zip(scratch.object_entries().chunks(entry))
            .map(|(a, b)| a != b)
            .collect();
        let counts = (0..240u8)
            .map(|g| !parser.contains(&g) && Some(g) != score && scratch.global(g) == machine.global(g))
            .collect();
        let said = printed(scratch);
        let mut b = Baseline { replacements, entry, noise, counts, score, nothing: 0, still: 0, said, resets };
        b.nothing = b.world(machine, scratch, &stop, &b.said);
        b.still = b.world(machine, machine, &Stop::Line, "");
        b
    }

    /// Types a word no game knows ([`UNKNOWN`]) on `scratch`, a fork of `machine`, and keeps
    /// of the attributes the neutral turn wrote with their value at rest those this turn wrote
    /// alike: what the parser writes whatever the line, the command's own action aside (and
    /// before the next line is read, as every game here reads in one place). What the word
    /// printed; None if the game could not take it (then no attribute counts as reset).
    fn learn_resets(&mut self, machine: &Machine, scratch: &mut Machine) -> Option<String> {
        let (stop, again) = logged_turn(machine, UNKNOWN, scratch);
        let took = stop.is_some();
        self.resets.retain(|w| took && again.contains(w));
        took.then(|| printed(scratch))
    }

    /// Puts back on `scratch` the attributes the parser resets before the next line (those
    /// [`Baseline::learn_resets`] kept): what performing an action there leaves is what its
    /// turn would.
    fn reset(&self, scratch: &mut Machine) {
        for &(o, a, on) in &self.resets {
            if scratch.attribute(o, a) != on {
                scratch.set_attribute(o, a, on);
            }
        }
    }

    /// Whether the world of `after` differs from that of `before` (objects, globals, score).
    /// Most commands tried change nothing, so the whole object table and the whole global table
    /// are compared first, each at once (only the pages the fork wrote, when `after` is a fork
    /// of `before`), and entry by entry only where they differ.
    fn changed(&self, before: &Machine, after: &Machine) -> bool {
        differing_entries(before, after, after.object_entries_at(), self.entry).any(|k| !self.noisy(k))
            || differing_entries(before, after, global_table_at(after), 2).any(|g| self.counts(g))
    }

    /// Whether object entry `k` changed in the neutral turn.
    fn noisy(&self, k: usize) -> bool {
        self.noise.get(k).copied().unwrap_or(false)
    }

    /// Whether global `g` is part of the world (the score is).
    fn counts(&self, g: usize) -> bool {
        self.counts.get(g).copied().unwrap_or(false) || self.score.is_some_and(|s| usize::from(s) == g)
    }

    /// The world after a command, from `before` (the state the command was typed in) to `after`:
    /// the objects and globals that count and that changed (the object table without the noisy
    /// objects, the globals that count, the score), whether the game stopped or ended, and the
    /// moral events it printed (`printed`: the command's text, markers included). Every world a
    /// search compares starts from the same state, so the changes alone tell worlds apart, and
    /// hashing them is cheaper than hashing the whole table. Of the object tree only each
    /// object's parent counts, not the order of siblings: `take coins and key` and `take key
    /// and coins` leave the same world.
    fn world(&self, before: &Machine, after: &Machine, stop: &Stop, printed: &str) -> u64 {
        self.change(before, after, printed).world(stop)
    }

    /// What the world holds of the change from `before` to `after` (see [`Baseline::world`]).
    fn change(&self, before: &Machine, after: &Machine, printed: &str) -> Change {
        // the sibling and child links of an entry (after its attributes and parent)
        let links = if self.entry == 9 { 5..7 } else { 8..12 };
        let mut c = Change::default();
        // Text without a bracket holds no marker and no placeholder: it is read as it is.
        if printed.contains('[') {
            let parsed = parse(&expand(printed, self.replacements));
            c.markers = parsed.markers.into_iter().map(|m| m.id).collect();
            c.ends = [u8::from(parsed.game_over), u8::from(is_end_prompt(&parsed.text))];
        } else {
            c.ends = [0, u8::from(is_end_prompt(printed))];
        }
        let (objects_before, objects_after) = (before.object_entries(), after.object_entries());
        for k in differing_entries(before, after, after.object_entries_at(), self.entry) {
            let range = k * self.entry..(k + 1) * self.entry;
            let (a, b) =
                (objects_before.get(range.clone()).unwrap_or_default(), objects_after.get(range).unwrap_or_default());
            let whole = b.len() == self.entry && a.len() == self.entry;
            if whole && !self.noisy(k) && (a[..links.start] != b[..links.start] || a[links.end..] != b[links.end..]) {
                let mut entry = [0; 10];
                let (head, tail) = (&b[..links.start], &b[links.end..]);
                entry[..head.len()].copy_from_slice(head);
                entry[head.len()..head.len() + tail.len()].copy_from_slice(tail);
                c.objects.push((k as u32, entry, (head.len() + tail.len()) as u8));
            }
        }
        // The globals in order, then the score.
        let word = |t: &[u8], g: usize| t.get(2 * g..2 * g + 2).map_or(0, |w| u16::from_be_bytes([w[0], w[1]]));
        let table = global_table_at(after);
        let globals_before = before.memory().get(table.clone()).unwrap_or_default();
        let globals_after = after.memory().get(table.clone()).unwrap_or_default();
        for g in differing_entries(before, after, table, 2) {
            if self.counts.get(g).copied().unwrap_or(false) {
                c.globals.push((g as u8, word(globals_after, g)));
            }
        }
        if let Some(s) = self.score.map(usize::from)
            && word(globals_before, s) != word(globals_after, s)
        {
            c.globals.push((s as u8, word(globals_after, s)));
        }
        c
    }
}

/// Types `command` on `scratch`, a fork of `machine`, noting the attributes the game writes:
/// how it stopped (None if it could not take the command), and the writes that left an
/// attribute as `machine` has it, each once.
fn logged_turn(machine: &Machine, command: &str, scratch: &mut Machine) -> (Option<Stop>, Vec<(u16, u16, bool)>) {
    scratch.restore_from(machine);
    scratch.set_budget(TURN_BUDGET);
    scratch.log_attribute_writes(true);
    let stop = scratch.send(command).ok();
    let mut at_rest: Vec<(u16, u16, bool)> = Vec::new();
    for &(o, a, on) in scratch.attribute_writes() {
        if machine.attribute(o, a) == on && !at_rest.contains(&(o, a, on)) {
            at_rest.push((o, a, on));
        }
    }
    scratch.log_attribute_writes(false);
    (stop, at_rest)
}

/// What a command changed of what the world holds, from the state it was typed in: the moral
/// markers it printed, whether the game printed its end, the object entries it changed (number,
/// attributes, parent and properties, not the sibling and child links), and the globals that
/// count it changed.
#[derive(Debug, Default)]
struct Change {
    markers: Vec<String>,
    /// Game over and the end prompt.
    ends: [u8; 2],
    /// Entry number, the entry without its links, and how many of those bytes are used.
    objects: Vec<(u32, [u8; 10], u8)>,
    globals: Vec<(u8, u16)>,
}

impl Change {
    /// The fingerprint of the world after the change, the game `stop`ped so.
    fn world(&self, stop: &Stop) -> u64 {
        let mut h = Fnv1a64::default();
        for m in &self.markers {
            h.write(m.as_bytes());
            h.write(b",");
        }
        h.write(&self.ends);
        for (k, entry, len) in &self.objects {
            h.write(&k.to_be_bytes());
            h.write(&entry[..usize::from(*len)]);
        }
        for (g, now) in &self.globals {
            h.write(&[*g]);
            h.write(&now.to_be_bytes());
        }
        h.write(&[u8::from(matches!(stop, Stop::Quit))]);
        h.finish()
    }

    /// Whether a turn that made this change repeated `performed`, the change performing its
    /// action made: the same markers and end, the same objects changed alike and no other, and
    /// the globals performing set set alike (a turn may set more of its own, such as the last
    /// noun typed).
    fn repeats(&self, performed: &Change) -> bool {
        self.ends == performed.ends
            && self.markers == performed.markers
            && self.objects == performed.objects
            && performed.globals.iter().all(|g| self.globals.contains(g))
    }
}

/// Whether every bracket `[` in `printed` opens a placeholder `[RIDX: n]` whose replacement
/// text holds no bracket: then the text expanded holds no bracket at all, and so no marker. Most
/// texts a perform prints in some games (Trinity's) hold such placeholders and nothing else in
/// brackets; this tells so without building the expanded text.
fn only_plain_placeholders(printed: &str, replacements: &HashMap<u32, String>) -> bool {
    let mut rest = printed;
    while let Some(at) = rest.find('[') {
        match replacement(&rest[at..], replacements) {
            Some((text, after)) if !text.contains(['[', ']']) => rest = after,
            _ => return false,
        }
    }
    true
}

/// Whether `printed` holds a moral marker, a reward or the end, its replacement texts expanded
/// (a few of them hold markers; the rest are only words, and a command that only prints words
/// does not change the world).
fn holds_marker(printed: &str, replacements: &HashMap<u32, String>) -> bool {
    if only_plain_placeholders(printed, replacements) {
        return false;
    }
    let p = parse(&expand(printed, replacements));
    !p.markers.is_empty() || !p.rewards.is_empty() || p.game_over
}

/// What `command` prints from `machine`'s state (both windows, markers included), typed on
/// `scratch`; None if the game cannot take it.
pub fn printed_after(machine: &Machine, command: &str, scratch: &mut Machine) -> Option<String> {
    scratch.restore_from(machine);
    scratch.set_budget(TURN_BUDGET);
    scratch.send(command).ok()?;
    Some(printed(scratch))
}

/// The fingerprint of the world after `command`, as [`search`] computes it, to ask whether a
/// command is equivalent to a valid action.
pub fn outcome(
    grammar: Option<&Grammar>,
    machine: &Machine,
    command: &str,
    score: Option<u8>,
    replacements: &HashMap<u32, String>,
    scratch: &mut Machine,
) -> Option<u64> {
    let baseline = Baseline::new(grammar.map_or(&[][..], |g| &g.parser_globals), machine, score, replacements, scratch);
    scratch.restore_from(machine);
    scratch.set_budget(TURN_BUDGET);
    let stop = scratch.send(command).ok()?;
    Some(baseline.world(machine, scratch, &stop, &printed(scratch)))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_differing_units_are_those_with_a_differing_byte(
            a in proptest::collection::vec(0u8..3, 0..80),
            flips in proptest::collection::vec(0usize..80, 0..6),
            size in 1usize..16,
        ) {
            let mut b = a.clone();
            for f in flips {
                if let Some(x) = b.get_mut(f) {
                    *x ^= 1;
                }
            }
            b.extend([7, 7]);
            let units: Vec<usize> = (0..a.len().div_ceil(size))
                .filter(|&u| (u * size..((u + 1) * size).min(a.len())).any(|i| a[i] != b[i]))
                .collect();
            proptest::prop_assert_eq!(differing(&a, &b, size).collect::<Vec<_>>(), units);
        }
    }

    #[test]
    fn a_class_is_typed_in_growing_rounds_until_one_member_stands_for_it() {
        // Items 0-9 of class 'a' (item 6 is the first that stands for it), 10-12 of class 'b'
        // (none does), 13 and 14 without a class. Every item shows a world of its own.
        let mut classes = vec![Some(('a', 0)); 10];
        classes.extend([Some(('b', 0)); 3]);
        classes.extend([None, None]);
        let mut rounds = Vec::new();
        let typed = in_rounds(
            &classes,
            |&shown: &usize| Some(shown as u64),
            |round| {
                rounds.push(round.to_vec());
                round.iter().map(|&k| (k * 10, (6..10).contains(&k))).collect()
            },
        );
        assert_eq!(rounds, [vec![0, 10, 13, 14], vec![1, 2, 11, 12], vec![3, 4, 5, 6]]);
        let shown: Vec<Option<usize>> = (0..15).map(|k| (k <= 6 || k >= 10).then_some(k * 10)).collect();
        assert_eq!(typed, shown, "7, 8 and 9 are not typed; every member of 'b' is");
        // A member that stands for its class in the first round: the rest are never typed.
        let typed = in_rounds(
            &[Some((1, 0)), Some((1, 0)), None],
            |&shown: &usize| Some(shown as u64),
            |round| round.iter().map(|&k| (k, true)).collect(),
        );
        assert_eq!(typed, [Some(0), None, Some(2)]);
    }

    #[test]
    fn members_of_one_action_that_all_lead_to_one_world_stand_for_the_rest_of_it() {
        // One class of 20 members, none standing for it: the even ones of action 'x' all show
        // world 5, the odd ones of action 'y' a world each. Once seven of 'x' showed 5 (after
        // the fourth round), its other members are passed over; all of 'y' are typed.
        let classes: Vec<Option<(char, char)>> =
            (0..20).map(|k| Some(('c', if k % 2 == 0 { 'x' } else { 'y' }))).collect();
        let world = |k: usize| if k.is_multiple_of(2) { 5 } else { k as u64 };
        let mut rounds = Vec::new();
        let typed = in_rounds(
            &classes,
            |&shown: &usize| Some(world(shown)),
            |round| {
                rounds.push(round.to_vec());
                round.iter().map(|&k| (k, false)).collect()
            },
        );
        assert_eq!(rounds, [vec![0], vec![1, 2], vec![3, 4, 5, 6], (7..15).collect(), vec![15, 17, 19]]);
        let shown: Vec<Option<usize>> = (0..20).map(|k| (k != 16 && k != 18).then_some(k)).collect();
        assert_eq!(typed, shown);
        // Seven members that did not all lead to one world stand for nothing: all are typed.
        let typed = in_rounds(
            &[Some(('c', 'x')); 12],
            |&shown: &usize| Some(u64::from(shown == 3)),
            |round| round.iter().map(|&k| (k, false)).collect(),
        );
        assert!(typed.iter().all(Option::is_some));
    }

    #[test]
    fn a_turn_repeats_a_change_with_the_same_objects_and_markers_and_any_more_globals() {
        let performed = Change {
            markers: vec!["verbs:234".into()],
            ends: [0, 0],
            objects: vec![(7, [1; 10], 7)],
            globals: vec![(20, 1)],
        };
        let turn = |f: &dyn Fn(&mut Change)| {
            let mut c = Change { globals: vec![(3, 9), (20, 1)], ..Change::default() };
            c.markers.clone_from(&performed.markers);
            c.objects.clone_from(&performed.objects);
            f(&mut c);
            c
        };
        assert!(turn(&|_| {}).repeats(&performed), "a turn sets globals of its own besides");
        assert!(!turn(&|c| c.globals = vec![(3, 9)]).repeats(&performed), "a global not set");
        assert!(!turn(&|c| c.globals = vec![(20, 2)]).repeats(&performed), "a global set otherwise");
        assert!(!turn(&|c| c.objects.push((8, [0; 10], 7))).repeats(&performed), "another object taken first");
        assert!(!turn(&|c| c.objects.clear()).repeats(&performed), "the parser refused it");
        assert!(!turn(&|c| c.markers.push("verbs:9".into())).repeats(&performed), "another marker");
        assert!(!turn(&|c| c.ends = [1, 0]).repeats(&performed), "the game ended");
    }

    /// zmachine/tests/stories/pronoun.inf: its parser clears the pronoun's flag (attribute 0)
    /// before every line; `inventory` marks the stone again (attribute 1, marked from the start).
    #[test]
    fn what_the_parser_writes_on_every_line_is_put_back_after_performing() {
        use moralgym_zmachine::{Options, Story};
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../zmachine/tests/stories/pronoun.z3");
        let story = Story::new(std::fs::read(path).unwrap()).unwrap();
        let mut m = Machine::new(&story, Options::default());
        m.run().unwrap();
        m.clear_output();
        let named = |n: &str| (1..=m.object_count()).find(|&o| m.object(o).is_some_and(|x| x.name == n)).unwrap();
        let (it, stone, touched, marked) = (named("it"), named("stone"), 0, 1);
        assert!(!m.attribute(it, touched) && m.attribute(stone, marked));
        let table = HashMap::new();
        let mut scratch = m.clone();
        let mut b = Baseline::new(&[], &m, None, &table, &mut scratch);
        assert_eq!(b.resets, [(stone, marked, true), (it, touched, false)], "both written as they are at rest");
        assert_eq!(b.learn_resets(&m, &mut scratch).as_deref(), Some("What?\n\n>"));
        assert_eq!(b.resets, [(it, touched, false)], "the stone is marked by the neutral command alone");
        // What performing `point` and `rub` leaves: the pronoun's flag set, the stone unmarked.
        scratch.restore_from(&m);
        scratch.set_attribute(it, touched, true);
        scratch.set_attribute(stone, marked, false);
        assert!(b.changed(&m, &scratch));
        b.reset(&mut scratch);
        assert!(!scratch.attribute(it, touched), "the parser clears it before the next line");
        assert!(!scratch.attribute(stone, marked) && b.changed(&m, &scratch), "rubbing lasts");
        // Their turns agree: `point` changes nothing that lasts, `rub` does.
        for (command, lasts) in [("point", false), ("rub", true)] {
            scratch.restore_from(&m);
            scratch.send(command).unwrap();
            assert_eq!(b.changed(&m, &scratch), lasts, "{command}");
        }
    }

    #[test]
    fn only_markers_count_not_the_words_of_replacement_texts() {
        let table: HashMap<u32, String> =
            [(5, "You can't reach it.".to_string()), (7, "[ID: game:20] You smile.".to_string())].into();
        assert!(!holds_marker("You can't [RIDX: 5]", &table));
        assert!(!holds_marker("A [bracket] of words.", &table));
        assert!(holds_marker("[RIDX: 7]", &table), "a replacement text holding a marker");
        assert!(holds_marker("You kick it.[ID: game:30]", &table));
        assert!(holds_marker("[EVENT: GAME OVER]", &table) && holds_marker("[RWD_ID: game:3, VAL: 5]", &table));
        assert!(!holds_marker("no brackets", &table));
    }

    proptest::proptest! {
        /// The check without expanding agrees with parsing the text expanded, whatever the
        /// placeholders (known or not, plain or holding a marker or a bracket) and brackets.
        #[test]
        fn placeholders_are_judged_as_the_text_expanded(parts in proptest::collection::vec(0usize..10, 0..8)) {
            let table: HashMap<u32, String> = [
                (1, "You can't.".to_string()),
                (2, "[ID: game:20] You smile.".to_string()),
                (3, "a ] closes".to_string()),
                (4, "an [ opens".to_string()),
            ]
            .into();
            let pieces = [
                "[RIDX: 1]", "[RIDX: 2]", "[RIDX: 3]", "[RIDX: 4]", "[RIDX: 9]", "[ID: game:30]", "[",
                "]", "words ", "[RIDX: 1",
            ];
            let text: String = parts.iter().map(|&k| pieces[k]).collect();
            let p = parse(&expand(&text, &table));
            let expanded = !p.markers.is_empty() || !p.rewards.is_empty() || p.game_over;
            proptest::prop_assert_eq!(holds_marker(&text, &table), expanded, "{}", text);
        }
    }
}
