//! Issue 11, items 2 and 3: damaged Whisper models and malformed CTranslate2 folders give
//! a one-line error that says what to do, exit 2, never crash, and leave nothing behind.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use twoears::model::ct2::{self, DType, Variable};

fn call() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/call.flac")
}

/// One error line, prefixed with the program name; returns it.
fn one_error_line(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "exit 2: {}", stderr(out));
    let err = stderr(out);
    // A missing sentence encoder is a warning of its own, not part of the error.
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("twoears: warning:"))
        .collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("twoears: "), "{err}");
    lines[0].to_string()
}

fn review_with(model: &Path, cwd: &Path) -> Output {
    twoears(
        &[
            "review",
            "-q",
            "--model",
            model.to_str().unwrap(),
            call().to_str().unwrap(),
        ],
        cwd,
    )
}

// Issue 11 item 2: `head -c 48 ggml-tiny.en.bin > t.bin` aborted whisper.cpp; cuts at
// 100 KB and 300 KB loaded and transcribed nothing.
#[test]
fn a_truncated_model_is_refused_before_whisper_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(model()).unwrap();
    let t = dir.path().join("t.bin");
    let step = full.len() / 12;
    for cut in [48, 100_000, 300_000]
        .into_iter()
        .chain((1..12).map(|i| i * step))
        .chain([full.len() - 1])
    {
        std::fs::write(&t, &full[..cut]).unwrap();
        let line = one_error_line(&review_with(&t, dir.path()));
        assert!(
            line.contains("t.bin") && line.contains("truncated"),
            "cut {cut}: {line}"
        );
        assert!(
            line.contains("download or convert it again"),
            "cut {cut}: {line}"
        );
    }
}

// Issue 11 item 2: a header patched to absurd sizes aborted whisper.cpp.
#[test]
fn a_header_with_absurd_sizes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(model()).unwrap();
    let t = dir.path().join("t.bin");
    // n_vocab, n_audio_state, n_audio_head, n_text_layer, n_mels.
    for (field, value, want) in [
        (0, i32::MAX, "n_vocab is 2147483647"),
        (2, 1 << 30, "n_audio_state is 1073741824"),
        (3, 0, "n_audio_head is 0"),
        (8, -5, "n_text_layer is -5"),
        (9, 0, "n_mels is 0"),
    ] {
        let mut b = full.clone();
        let at = 4 + 4 * field;
        b[at..at + 4].copy_from_slice(&value.to_le_bytes());
        std::fs::write(&t, &b).unwrap();
        let line = one_error_line(&review_with(&t, dir.path()));
        assert!(line.contains(want), "{want}: {line}");
    }
}

/// A copy of the installed tiny.en with its manifest in a fresh models dir.
fn installed_copy(dir: &Path) -> PathBuf {
    let src = model();
    let dst = dir.join("ggml-tiny.en.bin");
    std::fs::copy(&src, &dst).unwrap();
    std::fs::copy(src.with_extension("json"), dst.with_extension("json")).unwrap();
    dst
}

#[test]
fn an_installed_model_is_held_to_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let m = installed_copy(dir.path());
    let full = std::fs::read(&m).unwrap();
    std::fs::write(&m, &full[..full.len() - 1000]).unwrap();
    let line = one_error_line(&review_with(&m, dir.path()));
    let size = format!("its manifest says {}", full.len());
    assert!(line.contains(&size), "{line}");
    assert!(line.contains("twoears model install tiny.en"), "{line}");

    // Same length, one byte flipped in the tensor data: only the hash can tell.
    let mut b = full.clone();
    b[full.len() * 2 / 3] ^= 0x40;
    std::fs::write(&m, &b).unwrap();
    let line = one_error_line(&review_with(&m, dir.path()));
    assert!(
        line.contains("sha256") && line.contains("corrupt"),
        "{line}"
    );
    let out = twoears(&["model", "verify", m.to_str().unwrap()], dir.path());
    assert!(one_error_line(&out).contains("sha256"));
}

/// A complete Whisper-shaped CT2 model whisper.cpp's fixed dimensions allow, width 4.
fn ct2_vars() -> Vec<(String, Variable)> {
    let d = 4;
    let mut v: Vec<(String, Variable)> = Vec::new();
    let mut add = |n: String, dims: &[usize]| {
        let count: usize = dims.iter().product();
        let data = (0..count)
            .flat_map(|i| (i as f32 * 1e-3).to_le_bytes())
            .collect();
        v.push((
            n,
            Variable {
                dims: dims.to_vec(),
                dtype: DType::F32,
                data,
            },
        ));
    };
    add("encoder/conv1/weight".into(), &[d, 80, 3]);
    add("encoder/conv1/bias".into(), &[d]);
    add("encoder/conv2/weight".into(), &[d, d, 3]);
    add("encoder/conv2/bias".into(), &[d]);
    add("encoder/position_encodings/encodings".into(), &[1500, d]);
    add("decoder/embeddings/weight".into(), &[51864, d]);
    add("decoder/position_encodings/encodings".into(), &[448, d]);
    for p in ["encoder/layer_norm", "decoder/layer_norm"] {
        add(format!("{p}/gamma"), &[d]);
        add(format!("{p}/beta"), &[d]);
    }
    for side in ["encoder", "decoder"] {
        let l = format!("{side}/layer_0");
        for n in ["self_attention/layer_norm", "ffn/layer_norm"] {
            add(format!("{l}/{n}/gamma"), &[d]);
            add(format!("{l}/{n}/beta"), &[d]);
        }
        add(format!("{l}/self_attention/linear_0/weight"), &[3 * d, d]);
        add(format!("{l}/self_attention/linear_0/bias"), &[3 * d]);
        add(format!("{l}/self_attention/linear_1/weight"), &[d, d]);
        add(format!("{l}/self_attention/linear_1/bias"), &[d]);
        add(format!("{l}/ffn/linear_0/weight"), &[4 * d, d]);
        add(format!("{l}/ffn/linear_0/bias"), &[4 * d]);
        add(format!("{l}/ffn/linear_1/weight"), &[d, 4 * d]);
        add(format!("{l}/ffn/linear_1/bias"), &[d]);
    }
    let l = "decoder/layer_0/attention";
    add(format!("{l}/layer_norm/gamma"), &[d]);
    add(format!("{l}/layer_norm/beta"), &[d]);
    add(format!("{l}/linear_0/weight"), &[d, d]);
    add(format!("{l}/linear_0/bias"), &[d]);
    add(format!("{l}/linear_1/weight"), &[2 * d, d]);
    add(format!("{l}/linear_1/bias"), &[2 * d]);
    add(format!("{l}/linear_2/weight"), &[d, d]);
    add(format!("{l}/linear_2/bias"), &[d]);
    for side in ["encoder", "decoder"] {
        v.push((format!("{side}/num_heads"), heads(2)));
    }
    v
}

fn heads(n: i16) -> Variable {
    Variable {
        dims: vec![],
        dtype: DType::I16,
        data: n.to_le_bytes().to_vec(),
    }
}

fn set(vars: &mut [(String, Variable)], name: &str, v: Variable) {
    vars.iter_mut().find(|(n, _)| n == name).unwrap().1 = v;
}

fn rank0() -> Variable {
    Variable {
        dims: vec![],
        dtype: DType::F32,
        data: 1f32.to_le_bytes().to_vec(),
    }
}

fn ct2_bin(vars: &[(String, Variable)], aliases: &[(&str, &str)]) -> Vec<u8> {
    let refs: Vec<(&str, Variable)> = vars.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    ct2::write("WhisperSpec", 3, &refs, aliases)
}

/// `model import` of a CT2 folder holding `bin`, into an empty models dir; checks that
/// nothing is left there and returns the one error line.
fn import_fails(bin: Vec<u8>, limit_kb: Option<u64>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (src, models) = (dir.path().join("ct2"), dir.path().join("models"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&models).unwrap();
    std::fs::write(src.join("model.bin"), bin).unwrap();
    std::fs::write(src.join("vocabulary.txt"), "a\n<|endoftext|>\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_twoears");
    let mut cmd = match limit_kb {
        // A cap on address space turns a runaway allocation into a failure we can see.
        Some(kb) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -v {kb}; exec \"$0\" \"$@\""))
                .arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let out = cmd
        .args(["model", "import", "--name", "x", "--dir"])
        .arg(&models)
        .arg(&src)
        .output()
        .unwrap();
    let line = one_error_line(&out);
    let left: Vec<_> = std::fs::read_dir(&models)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind {left:?} after: {line}");
    line
}

// Issue 11 item 3: these panicked (divide by zero, index out of bounds) or hit SIGFPE and
// ggml asserts in the check clip.
#[test]
fn malformed_ct2_folders_are_refused_before_ggml_or_whisper() {
    type Edit = Box<dyn Fn(&mut Vec<(String, Variable)>)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "rank-0 fused weight",
            Box::new(|v| set(v, "encoder/layer_0/self_attention/linear_0/weight", rank0())),
            "has shape [], expected [12, 4]",
        ),
        (
            "rank-0 fused bias",
            Box::new(|v| set(v, "decoder/layer_0/attention/linear_1/bias", rank0())),
            "has shape [], expected [8]",
        ),
        (
            "rank-0 conv bias",
            Box::new(|v| set(v, "encoder/conv2/bias", rank0())),
            "has shape [], expected [4]",
        ),
        (
            "rank-0 embeddings",
            Box::new(|v| set(v, "decoder/embeddings/weight", rank0())),
            "has shape [], expected 2 dimensions",
        ),
        (
            "n_mels 0",
            Box::new(|v| {
                set(
                    v,
                    "encoder/conv1/weight",
                    Variable {
                        dims: vec![4, 0, 3],
                        dtype: DType::F32,
                        data: vec![],
                    },
                )
            }),
            "n_mels is 0, expected 80 or 128",
        ),
        (
            "0 heads",
            Box::new(|v| set(v, "encoder/num_heads", heads(0))),
            "n_audio_head is 0",
        ),
        (
            "negative heads",
            Box::new(|v| set(v, "decoder/num_heads", heads(-4))),
            "n_text_head is -4",
        ),
        (
            "heads that do not divide the width",
            Box::new(|v| set(v, "encoder/num_heads", heads(3))),
            "n_audio_head is 3, which does not divide n_audio_state = 4",
        ),
    ];
    for (what, edit, want) in cases {
        let mut vars = ct2_vars();
        edit(&mut vars);
        let line = import_fails(ct2_bin(&vars, &[]), None);
        assert!(line.contains(want), "{what}: {line}");
        assert!(
            line.contains("export it again"),
            "{what} says what to do: {line}"
        );
    }
}

// Issue 11 item 3: dimensions whose product wraps passed as a small variable.
#[test]
fn a_shape_whose_size_wraps_is_refused() {
    let mut vars = ct2_vars();
    // Four dimensions of 2^31 f32s: 2^126 bytes, which wraps u64 to 0; declared 0 bytes.
    set(
        &mut vars,
        "encoder/conv1/bias",
        Variable {
            dims: vec![1 << 31; 4],
            dtype: DType::F32,
            data: vec![],
        },
    );
    let line = import_fails(ct2_bin(&vars, &[]), None);
    assert!(
        line.contains("encoder/conv1/bias") && line.contains("overflows"),
        "{line}"
    );
}

// Issue 11 item 3: every alias cloned its target (2.2 GB for a 75 MB model). 20,000
// aliases of the 830 KB embedding would need 16 GB copied; shared, the import stays far
// under a 3 GB address-space cap and reaches the model's real fault.
#[test]
fn many_aliases_share_their_target() {
    let mut vars = ct2_vars();
    set(&mut vars, "encoder/num_heads", heads(3));
    let names: Vec<String> = (0..20_000).map(|i| format!("alias/{i}")).collect();
    let aliases: Vec<(&str, &str)> = names
        .iter()
        .map(|n| (n.as_str(), "decoder/embeddings/weight"))
        .collect();
    let line = import_fails(ct2_bin(&vars, &aliases), Some(3_000_000));
    assert!(line.contains("n_audio_head is 3"), "{line}");
}

// Issue 11 item 3: every import error printed its text three times.
#[test]
fn an_import_error_prints_its_cause_once() {
    let bin = ct2_bin(&ct2_vars(), &[]);
    let line = import_fails(bin[..bin.len() / 2].to_vec(), None);
    assert_eq!(line.matches("truncated").count(), 1, "{line}");
    assert!(line.contains("model.bin"), "{line}");
}

/// Exits at once: its pid is then a dead writer's.
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

// Issue 11 item 3: a crash or kill -9 left a 75 MB .partial-*.bin that `model list` did
// not show, once per try.
#[test]
fn partials_of_dead_writers_are_removed_by_the_next_model_command() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path();
    let dead = models.join(format!(".partial-{}-abc.bin", dead_pid()));
    let dead_encoder = models.join(format!(".partial-encoder-{}-abc", dead_pid()));
    // This test's own pid stands for an install still running.
    let live = models.join(format!(".partial-{}-abc.bin", std::process::id()));
    std::fs::write(&dead, vec![0u8; 1 << 20]).unwrap();
    std::fs::create_dir(&dead_encoder).unwrap();
    std::fs::write(&live, b"x").unwrap();
    let out = twoears(
        &["model", "list", "--dir", models.to_str().unwrap()],
        models,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dead.exists() && !dead_encoder.exists(), "{}", stderr(&out));
    assert!(live.exists(), "a running install's partial is kept");
    assert!(stderr(&out).contains("left by an interrupted install"));
}

// The same, with a real kill -9 in the middle of an import.
#[test]
fn a_killed_import_leaves_a_partial_that_the_next_run_removes() {
    let dir = tempfile::tempdir().unwrap();
    let (src, models) = (dir.path().join("ct2"), dir.path().join("models"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("model.bin"), ct2_bin(&ct2_vars(), &[])).unwrap();
    std::fs::write(src.join("vocabulary.txt"), "a\n<|endoftext|>\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_twoears"))
        .args(["model", "import", "--name", "x", "--dir"])
        .arg(&models)
        .arg(&src)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let partial = |m: &Path| {
        std::fs::read_dir(m).ok().and_then(|d| {
            d.filter_map(Result::ok)
                .find(|e| e.file_name().to_string_lossy().starts_with(".partial-"))
        })
    };
    let started = std::time::Instant::now();
    while partial(&models).is_none() && started.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL: no destructor runs.
    child.wait().unwrap();
    assert!(
        partial(&models).is_some(),
        "the killed import left its partial"
    );
    let out = twoears(
        &["model", "list", "--dir", models.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(partial(&models).is_none(), "{}", stderr(&out));
}

// Hostile-input probe, item 5: `--model /dev/zero` or a folder said "does not exist"; a
// 2 GB file that is no model was hashed in full (16.6 s) before its header was read.
#[test]
fn a_model_that_is_no_file_or_no_model_is_refused_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("models");
    std::fs::create_dir(&folder).unwrap();
    for (model, want) in [
        (
            Path::new("/dev/zero"),
            "model /dev/zero is a device, not a model file",
        ),
        (folder.as_path(), "models is a folder, not a model file"),
    ] {
        let line = one_error_line(&review_with(model, dir.path()));
        assert!(line.contains(want), "{line}");
    }
    // 200 MB of zeros (sparse): refused by its first four bytes, before the call is even
    // opened (a review hashes the model only once it reads the call).
    let big = dir.path().join("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(200 << 20)
        .unwrap();
    let out = twoears(
        &[
            "review",
            "no-such-call.wav",
            "--model",
            big.to_str().unwrap(),
        ],
        dir.path(),
    );
    let line = one_error_line(&out);
    assert!(
        line.contains("big.bin is not a usable Whisper model")
            && line.contains("not the ggml magic"),
        "{line}"
    );
}
