//! One shape for every call source: a recording (`input::CallReader`) or the two live
//! devices (`live::LiveSource`) hand the pipeline aligned 16 kHz blocks through `next`,
//! and both modes run the one driver loop below.

use crate::detect::Alert;
use crate::pipeline::Pipeline;

pub trait CallSource {
    /// Moves the next aligned 16 kHz samples into `rep` and `prospect` (cleared first,
    /// equal lengths, possibly empty while a live source waits). Returns false once the
    /// call has ended.
    fn next(&mut self, rep: &mut Vec<f32>, prospect: &mut Vec<f32>) -> bool;

    /// The pipeline has processed the call up to `now_s` (a live source measures the
    /// audio path's latency from it).
    fn consumed(&mut self, _now_s: f64) {}
}

/// One block as it went through the pipeline.
pub struct Block<'a> {
    pub rep: &'a [f32],
    pub prospect: &'a [f32],
    /// Alerts the block raised.
    pub alerts: &'a [Alert],
    /// Warnings from the transcriber since the last block.
    pub warnings: &'a [String],
    pub pipeline: &'a Pipeline,
}

/// Feeds `source` through `pipeline` until the call ends; `each` sees every block (and
/// the source, for what it has to say).
pub fn drive<S: CallSource>(
    source: &mut S,
    pipeline: &mut Pipeline,
    mut each: impl FnMut(&mut S, Block<'_>),
) {
    let (mut rep, mut prospect) = (Vec::new(), Vec::new());
    while source.next(&mut rep, &mut prospect) {
        let alerts = pipeline.push(&rep, &prospect);
        let warnings = pipeline.take_warnings();
        source.consumed(pipeline.now_s());
        each(
            source,
            Block {
                rep: &rep,
                prospect: &prospect,
                alerts: &alerts,
                warnings: &warnings,
                pipeline,
            },
        );
    }
}
