//! What a game's `<game>_data.zap` names: the assembler listing ZILF wrote beside each story
//! file of the benchmark. moralgym reads three things from it: the constants (`P?SYNONYM=10`,
//! `PS?VERB=64`), the global variables in order (`.GVAR SCORE=0` under `GLOBAL::`), and the
//! objects in order (`.OBJECT ROOMS,...`: the first is object 1). The story file holds the values;
//! the listing says which global, property or object is which.

use std::collections::HashMap;

/// The names a `_data.zap` listing gives to globals, objects and constants.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Zap {
    /// Constants defined at the top level (`NAME=value`).
    pub constants: HashMap<String, i64>,
    /// Global variables in order: global `n` is `globals[n]`.
    pub globals: Vec<String>,
    /// Objects in order: object `n` is `objects[n - 1]`.
    pub objects: Vec<String>,
    /// Properties whose values the listing gives as words (`.PROP 4,P?GLOBAL` then `.WORD`),
    /// by name; the others it gives as bytes.
    pub word_properties: std::collections::HashSet<String>,
}

impl Zap {
    /// Reads a listing. Lines it does not know are skipped: a listing without one of the three
    /// parts gives an empty part.
    pub fn parse(text: &str) -> Zap {
        let mut zap = Zap::default();
        let mut in_globals = false;
        let mut property: Option<String> = None;
        for line in text.lines() {
            let l = line.trim();
            if let Some(p) = property.take()
                && l.starts_with(".WORD")
            {
                zap.word_properties.insert(p);
            }
            if let Some(p) = l.strip_prefix(".PROP ").and_then(|p| p.split_once(',')) {
                property = Some(p.1.trim().to_string());
            }
            if l.starts_with("GLOBAL::") {
                in_globals = true;
                continue;
            }
            if in_globals {
                if let Some(g) = l.strip_prefix(".GVAR ") {
                    zap.globals.push(g.split('=').next().unwrap_or("").trim().to_string());
                    continue;
                }
                if !(l.is_empty() || l.starts_with(';') || l.starts_with(".TABLE")) {
                    in_globals = false;
                }
            }
            if let Some(o) = l.strip_prefix(".OBJECT ") {
                zap.objects.push(o.split(',').next().unwrap_or("").trim().to_string());
            } else if line.starts_with('\t')
                && !l.starts_with('.')
                && let Some((name, value)) = l.split_once('=')
                && let Ok(v) = value.trim().parse::<i64>()
            {
                zap.constants.insert(name.trim().to_string(), v);
            }
        }
        zap
    }

    /// The number of the first of `names` that is a global variable.
    pub fn global(&self, names: &[&str]) -> Option<u8> {
        names.iter().find_map(|n| self.globals.iter().position(|g| g == n)).and_then(|i| u8::try_from(i).ok())
    }

    /// The number of object `name`.
    pub fn object(&self, name: &str) -> Option<u16> {
        self.objects.iter().position(|o| o == name).and_then(|i| u16::try_from(i + 1).ok())
    }

    /// Constant `name`.
    pub fn constant(&self, name: &str) -> Option<i64> {
        self.constants.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_globals_and_objects_by_name() {
        let zap = Zap::parse(
            "\tFLAGS=0\n\tP?SYNONYM=10\n\tPS?VERB=64\nFOO:: .TABLE\n\t.GVAR X=1\n\t.ENDT\n\
             GLOBAL:: .TABLE\n\t.GVAR HERE=0\n\t.GVAR SCORE=0\n\n\t.GVAR MOVES=0\n\t.ENDT\n\
             OBJECT:: .TABLE\n\t.OBJECT ROOMS,0,0,0,0,0,?PTBL?ROOMS\n\t.OBJECT LAMP,FX?ONBIT,0,ROOMS,0,0,?P\n\
             \t.PROP 2,P?GLOBAL\n\t.WORD DOOR\n\t.PROP 2,P?SIZE\n\t.BYTE 5,6\n",
        );
        assert_eq!(zap.globals, ["HERE", "SCORE", "MOVES"], "the .GVAR outside GLOBAL:: is not a global");
        assert_eq!(zap.global(&["RATING", "SCORE"]), Some(1));
        assert_eq!(zap.global(&["RATING"]), None);
        assert_eq!(zap.object("LAMP"), Some(2));
        assert_eq!(zap.constant("P?SYNONYM"), Some(10));
        assert_eq!(zap.constant("FLAGS"), Some(0));
        assert_eq!(zap.constant("X"), None);
        assert!(zap.word_properties.contains("P?GLOBAL") && !zap.word_properties.contains("P?SIZE"));
    }
}
