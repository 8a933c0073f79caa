//! The signing stage of the answer pipeline: RRSIGs for every RRset of one
//! reply that its zone signs, made (or taken from the signature cache)
//! before the reply is assembled.
//!
//! Signing comes before assembly because an RRSIG travels beside its RRset
//! and the assembler's truncation decision needs its size. A signature that
//! cannot be made fails the whole reply (SERVFAIL): a DO=1 client must never
//! get signed-zone data without its signatures. The buffers here are reused
//! from reply to reply, so a warm worker allocates nothing.

use std::sync::Arc;

use super::{Scratch, SignError, Signer};
use crate::outcome::{Outcome, Section};
use crate::wire::name::MAX_NAME_LEN;

const SECTIONS: [Section; 3] = [Section::Answer, Section::Authority, Section::Additional];

/// The RRSIGs of one reply, by section and entry.
#[derive(Default)]
pub struct ReplySignatures {
    scratch: Scratch,
    /// Every RRSIG RDATA of the reply, entry after entry.
    rrsigs: Vec<Arc<[u8]>>,
    /// Per section, per entry: the range of `rrsigs` that signs it.
    spans: [Vec<(u32, u32)>; 3],
    /// What one `Signer::rrsigs` call returns, before it is appended.
    batch: Vec<Arc<[u8]>>,
}

impl ReplySignatures {
    /// Forgets the previous reply's signatures.
    pub fn clear(&mut self) {
        self.rrsigs.clear();
        for spans in &mut self.spans {
            spans.clear();
        }
    }

    /// Signs every entry of `out` that carries zone keys, at time `now`.
    /// `qname` is the question's lowercase wire name.
    pub fn sign(
        &mut self,
        out: &Outcome<'_>,
        qname: &[u8],
        signer: &Signer,
        now: u64,
    ) -> Result<(), SignError> {
        self.clear();
        for (section_index, section) in SECTIONS.into_iter().enumerate() {
            for entry in out.section(section) {
                let start = self.rrsigs.len() as u32;
                if let Some(keys) = entry.signer {
                    let mut owner = [0u8; MAX_NAME_LEN];
                    let wire = out.owner_wire(entry.owner, qname);
                    let owner = &mut owner[..wire.len()];
                    owner.copy_from_slice(wire);
                    // Signed over the lowercase owner, which for a wildcard
                    // expansion is the query name, as compact mode wants.
                    owner.make_ascii_lowercase();
                    let rdatas = out.rdatas(&entry.data);
                    // A synthesised CNAME has no RDATA here: never signed.
                    if rdatas.clone().next().is_some() {
                        self.batch.clear();
                        signer.rrsigs(
                            keys,
                            owner,
                            entry.data.rtype(),
                            out.class.0,
                            entry.wire_ttl(),
                            rdatas,
                            now,
                            &mut self.scratch,
                            &mut self.batch,
                        )?;
                        self.rrsigs.append(&mut self.batch);
                    }
                }
                self.spans[section_index].push((start, self.rrsigs.len() as u32));
            }
        }
        Ok(())
    }

    /// The RRSIG RDATAs of entry `index` of `section` (none when the reply
    /// was not signed).
    pub fn of(&self, section: Section, index: usize) -> &[Arc<[u8]>] {
        let section_index = SECTIONS.iter().position(|&s| s == section).unwrap_or(0);
        match self.spans[section_index].get(index) {
            Some(&(start, end)) => &self.rrsigs[start as usize..end as usize],
            None => &[],
        }
    }
}
