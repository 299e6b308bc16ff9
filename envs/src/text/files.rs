//! Reading a game's files (a TOML story, ChoiceScript scenes, a sidecar) without surprises: only
//! regular files, never through a link that leaves the game's folder, and at most
//! [`MAX_FILE_BYTES`], each refusal naming why before anything is read (a FIFO would block, a
//! device or a huge file would exhaust memory, a link could play a system file as a story).

use std::io::{self, Read};
use std::path::Path;

/// Largest game file read: 16 MiB. The longest commercial ChoiceScript games have scene files of a
/// few megabytes.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

fn refuse(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Reads a game file as UTF-8 text. `folder` is the game's folder when the file was found in it:
/// a symbolic link there must point inside it.
pub fn read(path: &Path, folder: Option<&Path>) -> io::Result<String> {
    read_up_to(path, folder, MAX_FILE_BYTES)
}

/// [`read`] with another size limit (MACHIAVELLI's data files are larger than scene files).
pub fn read_up_to(path: &Path, folder: Option<&Path>, max_bytes: u64) -> io::Result<String> {
    String::from_utf8(read_bytes_up_to(path, folder, max_bytes)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
}

/// [`read_up_to`] for a binary file (a Z-machine story file).
pub fn read_bytes_up_to(path: &Path, folder: Option<&Path>, max_bytes: u64) -> io::Result<Vec<u8>> {
    if let Some(folder) = folder
        && path.symlink_metadata()?.file_type().is_symlink()
    {
        let (target, root) = (path.canonicalize()?, folder.canonicalize()?);
        if !target.starts_with(&root) {
            return Err(refuse(format!("is a link to {}, outside the game's folder", target.display())));
        }
    }
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(refuse("is not a regular file (a folder, a FIFO or a device)".into()));
    }
    let too_big = |bytes: u64| refuse(format!("is {bytes} bytes long; game files are read up to {max_bytes}"));
    if meta.len() > max_bytes {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max_bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}
