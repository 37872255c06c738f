//! The Python face of the native core, `llmobs._native`: used by `llmobs/read/native.py` alone.
//!
//! Decoding runs with the GIL released. Columns come back as numpy arrays that take over the
//! decoder's vectors (no copy); string tables as lists of `str`.

use std::sync::Mutex;

use numpy::{Element, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::claude_code;
use crate::columns::{Columns, Interner, TraceTexts};
use crate::lines::{decode_chunks as decode_chunks_on_threads, decode_tasks, merge, Failure, Task};

fn array<'py, T: Element>(py: Python<'py>, values: Vec<T>) -> Bound<'py, PyArray1<T>> {
    PyArray1::from_vec(py, values)
}

fn strings<'py>(py: Python<'py>, table: &Interner) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, table.values())
}

/// (trace codes, UTF-8 byte lengths, the texts joined): the layout `TraceTexts` keeps.
fn texts<'py>(py: Python<'py>, texts: TraceTexts) -> (Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<i64>>, Bound<'py, PyBytes>) {
    (array(py, texts.traces), array(py, texts.lengths), PyBytes::new(py, texts.text.as_bytes()))
}

/// The columns as a dict of the shape `llmobs.read.decode` expects.
fn columns_to_python<'py>(py: Python<'py>, columns: Columns) -> PyResult<Bound<'py, PyDict>> {
    let Columns { tables, spans, usage, evals, root_input, root_request_id } = columns;
    macro_rules! dict {
        ($source:ident: $($column:ident),*) => {{
            let dict = PyDict::new(py);
            $(dict.set_item(stringify!($column), array(py, $source.$column))?;)*
            dict
        }};
    }
    let out = PyDict::new(py);
    let groups = PyList::empty(py);
    for group in spans.groups {
        groups.append(array(py, group))?;
    }
    out.set_item("groups", groups)?;
    out.set_item(
        "spans",
        dict!(spans: trace, is_root, name, kind, start_us, duration_ms, is_error, error_type, attempt, retry_of, model, span_id, parent, sample_rate),
    )?;
    out.set_item(
        "usage",
        dict!(usage: trace, time_us, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, cost_usd, span, span_scope, sample_rate),
    )?;
    let queries = PyList::empty(py);
    for (row, query) in &evals.queries {
        queries.append((row, query.as_ref()))?;
    }
    out.set_item("eval_queries", queries)?;
    out.set_item("evals", dict!(evals: trace, time_us, name, passed, score))?;
    out.set_item("root_input", texts(py, root_input))?;
    out.set_item("root_request_id", texts(py, root_request_id))?;
    let table_dict = PyDict::new(py);
    for (name, table) in [
        ("trace_ids", &tables.trace_ids),
        ("names", &tables.names),
        ("kinds", &tables.kinds),
        ("error_types", &tables.error_types),
        ("models", &tables.models),
        ("providers", &tables.providers),
        ("eval_names", &tables.eval_names),
        ("attr_values", &tables.attr_values),
    ] {
        table_dict.set_item(name, strings(py, table)?)?;
    }
    out.set_item("tables", table_dict)?;
    Ok(out)
}

/// A task's lines read, and why its reading ended early: ("open" | "read" | "stopped" |
/// "internal", message), or None.
type TaskSummary = (u64, Option<(&'static str, String)>);

fn failure_to_python(failure: Failure) -> (&'static str, String) {
    match failure {
        Failure::Open(message) => ("open", message),
        Failure::Read(message) => ("read", message),
        Failure::Stopped => ("stopped", String::new()),
        Failure::Internal(message) => ("internal", message),
    }
}

/// Decode byte ranges of files, `(path, start, end)` each, on up to `threads` threads, into one
/// set of columns. Returns (columns, per task (lines, failure or None), the lines left to the
/// models as (task, line, file offset, length, torn)). `on_progress(bytes)` is called from this thread as blocks are read;
/// Ctrl-C stops every thread and raises KeyboardInterrupt here.
#[pyfunction]
#[pyo3(signature = (tasks, group_attrs, threads, on_progress=None))]
fn decode_files<'py>(
    py: Python<'py>,
    tasks: Vec<(String, u64, u64)>,
    group_attrs: Vec<String>,
    threads: usize,
    on_progress: Option<Py<PyAny>>,
) -> PyResult<(Bound<'py, PyDict>, Vec<TaskSummary>, Bound<'py, PyList>)> {
    let tasks: Vec<Task> = tasks.into_iter().map(|(path, start, end)| Task { path, start, end }).collect();
    let raised: Mutex<Option<PyErr>> = Mutex::new(None);
    let after_block = |bytes: usize| {
        Python::attach(|py| {
            let result = match &on_progress {
                Some(callback) => callback.call1(py, (bytes,)).map(drop),
                None => Ok(()),
            }
            .and_then(|()| py.check_signals());
            result.map_err(|error| *raised.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error)).is_ok()
        })
    };
    let outcomes = py.detach(|| decode_tasks(&tasks, &group_attrs, threads, &after_block));
    if let Some(error) = raised.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()) {
        return Err(error);
    }
    let unsure = PyList::empty(py);
    let mut summaries = Vec::with_capacity(outcomes.len());
    let mut parts = Vec::with_capacity(outcomes.len());
    for (index, outcome) in outcomes.into_iter().enumerate() {
        for line in &outcome.decoded.unsure {
            unsure.append((index, line.line, tasks[index].start + line.offset, line.length, line.torn))?;
        }
        summaries.push((outcome.decoded.lines, outcome.failure.map(failure_to_python)));
        parts.push(outcome.decoded.columns);
    }
    if parts.is_empty() {
        parts.push(Columns::new(group_attrs.len()));
    }
    let merged = py.detach(|| merge(parts));
    Ok((columns_to_python(py, merged)?, summaries, unsure))
}

/// Decodes a stream (gzip, stdin) handed over a batch of whole lines at a time, each batch cut
/// into chunks decoded on threads; the columns accumulate here until `finish()`.
#[pyclass(module = "llmobs._native")]
struct StreamDecoder {
    group_attrs: Vec<String>,
    columns: Option<Columns>,
}

#[pymethods]
impl StreamDecoder {
    #[new]
    fn new(group_attrs: Vec<String>) -> Self {
        let columns = Columns::new(group_attrs.len());
        Self { group_attrs, columns: Some(columns) }
    }

    /// Decode `data[start:end]` for each (start, end) of `chunks` (whole lines each; only the
    /// stream's very last chunk may end without a newline) on up to `threads` threads. Returns the
    /// lines of each chunk, and the lines left to the models as (chunk, line, bytes, torn), lines
    /// counted from 1 in each chunk.
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8], chunks: Vec<(usize, usize)>, threads: usize) -> PyResult<(Vec<u64>, Bound<'py, PyList>)> {
        let accumulated = self.columns.take().ok_or_else(|| PyValueError::new_err("this decoder has finished"))?;
        let slices: Option<Vec<&[u8]>> = chunks.iter().map(|&(start, end)| data.get(start..end)).collect();
        let Some(slices) = slices else {
            self.columns = Some(accumulated);
            return Err(PyValueError::new_err("a chunk lies outside the data"));
        };
        let group_attrs = &self.group_attrs;
        let (columns, outcome) = py.detach(|| {
            let results = decode_chunks_on_threads(&slices, group_attrs, threads);
            let mut parts = vec![accumulated];
            let mut outcome = Ok(Vec::with_capacity(results.len()));
            for (index, result) in results.into_iter().enumerate() {
                match result {
                    Ok(decoded) => {
                        if let Ok(found) = outcome.as_mut() {
                            found.push((decoded.lines, decoded.unsure));
                        }
                        parts.push(decoded.columns);
                    }
                    Err(message) => outcome = Err(format!("the native decoder failed on chunk {index}: {message}")),
                }
            }
            (merge(parts), outcome)
        });
        self.columns = Some(columns);
        let found = outcome.map_err(pyo3::exceptions::PyRuntimeError::new_err)?;
        let unsure = PyList::empty(py);
        let mut lines = Vec::with_capacity(found.len());
        for (index, (count, chunk_unsure)) in found.into_iter().enumerate() {
            lines.push(count);
            for line in chunk_unsure {
                unsure.append((index, line.line, PyBytes::new(py, line.bytes.as_deref().unwrap_or_default()), line.torn))?;
            }
        }
        Ok((lines, unsure))
    }

    /// The columns of everything fed.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let columns = self.columns.take().ok_or_else(|| PyValueError::new_err("this decoder has finished"))?;
        columns_to_python(py, columns)
    }
}

/// A contiguous numpy array's values (columns always are; anything else is refused, not copied).
/// Account of one Claude Code file: (lines, bad lines as (line, reason), skipped line types as
/// (type, count), copies already counted elsewhere).
type AccountTuple = (u64, Vec<(u64, String)>, Vec<(String, u64)>, u64);

/// Claude Code session logs read on threads with the GIL released, then converted together:
/// `unsure()` lists the lines Python must judge, `convert(judged)` gives the records as FORMAT v1
/// JSONL and each file's account, or None with the reason when the batch is Python's to convert.
#[pyclass(module = "llmobs._native")]
struct ClaudeCodeLogs {
    parsed: claude_code::Parsed,
}

#[pymethods]
impl ClaudeCodeLogs {
    /// `files`: (stem, the file's bytes or its path), a path read on the reading threads.
    #[new]
    fn new(py: Python<'_>, files: Vec<(String, Bound<'_, PyAny>)>, threads: usize) -> PyResult<Self> {
        let mut paths = Vec::new();
        for (_, data) in &files {
            paths.push(if data.is_instance_of::<PyBytes>() { None } else { Some(data.extract::<String>()?) });
        }
        let inputs: Vec<(String, claude_code::Input<'_>)> = files
            .iter()
            .zip(&paths)
            .map(|((stem, data), path)| {
                let input = match path {
                    Some(path) => claude_code::Input::Path(path),
                    None => claude_code::Input::Bytes(data.cast::<PyBytes>().map(|bytes| bytes.as_bytes()).unwrap_or_default()),
                };
                (stem.clone(), input)
            })
            .collect();
        let parsed = py.detach(|| claude_code::parse(&inputs, threads));
        Ok(Self { parsed })
    }

    /// The lines left to Python: (file index, line number, bytes).
    fn unsure<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for (file, line, bytes) in &self.parsed.unsure {
            out.append((file, line, PyBytes::new(py, bytes)))?;
        }
        Ok(out)
    }

    /// The files that could not be read: (file index, error).
    fn failed(&self) -> Vec<(usize, String)> {
        self.parsed.failed.clone()
    }

    /// With every unsure line judged bad, as (file index, line number, reason): the records and the accounts.
    fn convert<'py>(&mut self, py: Python<'py>, judged: Vec<(usize, u64, String)>) -> (Option<Bound<'py, PyBytes>>, Vec<AccountTuple>, Option<&'static str>) {
        let parsed = &mut self.parsed;
        match py.detach(|| parsed.convert(judged)) {
            Ok((records, accounts)) => {
                let accounts = accounts.into_iter().map(|account| (account.lines, account.bad, account.skipped, account.copies)).collect();
                (Some(PyBytes::new(py, &records)), accounts, None)
            }
            Err(claude_code::Unsure(reason)) => (None, Vec::new(), Some(reason)),
        }
    }
}

fn values<'a, T: Element>(array: &'a PyReadonlyArray1<'_, T>, name: &str) -> PyResult<&'a [T]> {
    array.as_slice().map_err(|_| PyValueError::new_err(format!("{name} must be a contiguous array")))
}

/// Refuses columns of different lengths (the kernels index one by another's rows).
fn same_length(lengths: &[usize]) -> PyResult<()> {
    if lengths.windows(2).all(|pair| pair[0] == pair[1]) {
        Ok(())
    } else {
        Err(PyValueError::new_err("the columns differ in length"))
    }
}

/// For each span, the row of its parent within its trace, or -1.
#[pyfunction]
fn parent_rows<'py>(
    py: Python<'py>,
    trace: PyReadonlyArray1<'py, i32>,
    span_id: PyReadonlyArray1<'py, i64>,
    parent: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<i32>>> {
    let (trace, span_id, parent) = (values(&trace, "trace")?, values(&span_id, "span_id")?, values(&parent, "parent")?);
    same_length(&[trace.len(), span_id.len(), parent.len()])?;
    Ok(array(py, crate::spans::parent_rows(trace, span_id, parent)))
}

/// The rows (ascending) whose (trace, key) pair occurs more than once.
#[pyfunction]
fn repeated_rows<'py>(py: Python<'py>, trace: PyReadonlyArray1<'py, i32>, key: PyReadonlyArray1<'py, i64>) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let (trace, key) = (values(&trace, "trace")?, values(&key, "key")?);
    same_length(&[trace.len(), key.len()])?;
    Ok(array(py, crate::spans::repeated_rows(trace, key)))
}

/// Each span's self time in ms, from its parent row, start and duration.
#[pyfunction]
fn self_times<'py>(
    py: Python<'py>,
    parent_row: PyReadonlyArray1<'py, i32>,
    start_us: PyReadonlyArray1<'py, i64>,
    duration_ms: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (parent_row, start_us, duration_ms) = (values(&parent_row, "parent_row")?, values(&start_us, "start_us")?, values(&duration_ms, "duration_ms")?);
    same_length(&[parent_row.len(), start_us.len(), duration_ms.len()])?;
    if parent_row.iter().any(|&row| usize::try_from(row).is_ok_and(|row| row >= parent_row.len())) {
        return Err(PyValueError::new_err("a parent row is out of range"));
    }
    Ok(array(py, crate::spans::self_times(parent_row, start_us, duration_ms)))
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(decode_files, module)?)?;
    module.add_class::<StreamDecoder>()?;
    module.add_class::<ClaudeCodeLogs>()?;
    module.add_function(wrap_pyfunction!(parent_rows, module)?)?;
    module.add_function(wrap_pyfunction!(self_times, module)?)?;
    module.add_function(wrap_pyfunction!(repeated_rows, module)?)?;
    module.add("BLOCK_BYTES", crate::lines::BLOCK_BYTES)?;
    Ok(())
}
