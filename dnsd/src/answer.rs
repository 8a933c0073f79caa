//! The one function that runs the pipeline for a query, stage by stage:
//!
//! ```text
//! parse (wire -> Request)                      parse::parse_request
//!   -> checks (EDNS, opcode, class, meta-types) answer::checks
//!   -> template probe (replay a kept reply)     answer::templates
//!   -> lookup (Request x Catalog -> Outcome)    lookup::resolve
//!        -> dynamic (LUA records at the name)   dynamic::records
//!   -> denial (compact NSEC owed by lookup)     dnssec::prove
//!   -> sign (RRSIGs, or SERVFAIL)               dnssec::ReplySignatures
//!   -> assemble (Outcome -> bytes, TC)          assemble::Assembler
//!   -> keep template                            answer::templates
//! ```
//!
//! Signing runs before assembly: an RRSIG travels beside its RRset, and
//! truncation needs its size. The dynamic stage is reached from inside the
//! lookup, because a LUA CNAME sends the walk on.
//!
//! Transports call [`Responder::answer`] with the packet and a reusable
//! output buffer. It takes no lock and allocates nothing once the buffer
//! has grown to its working size. Finished replies are kept as
//! [`templates`] and replayed for repeated questions: per UDP worker, and
//! per runtime thread for TCP connections.

pub mod checks;
pub mod control;
pub mod cookies;
pub mod templates;

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::assemble::{Assembler, ReplyEdns, ReplyHead};
use crate::dnssec::{self, ReplySignatures, Signer};
use crate::dynamic::eval::RequestFacts;
use crate::dynamic::{AllUp, Ecs, GeoView, HealthView, LuaCache, LuaQuery, NoGeo};
use crate::lookup::{self, AnyUdp};
use crate::metrics::WorkerStats;
use crate::outcome::Outcome;
use crate::parse::{Parsed, Request, Transport, parse_request};
use crate::wire::{EdnsFlags, Flags, Name, RType, Rcode};
use crate::zone::Catalog;
use checks::Verdict;
use control::ControlHandle;
use templates::{Key, Templates, Variant};

/// Answer-path settings, fixed for the life of a worker.
#[derive(Debug, Clone)]
pub struct AnswerConfig {
    /// Our EDNS UDP payload size (advertised and enforced), 512..=65535.
    pub edns_payload: u16,
    /// ANY over UDP.
    pub any_udp: AnyUdp,
    /// TXT RDATA (wire) for CH `version.bind`/`version.server`, if configured.
    pub chaos_version: Option<Box<[u8]>>,
    /// TXT RDATA (wire) for CH `hostname.bind`/`id.server`, if configured.
    pub chaos_id: Option<Box<[u8]>>,
    /// NSID to return when asked (RFC 5001).
    pub nsid: Option<Box<[u8]>>,
    /// Online signing for zones that have keys: the shared signature cache.
    pub signer: Arc<Signer>,
    /// EDNS Client Subnet processing (RFC 7871): when on, a query's ECS
    /// address is what LUA records see and the option is echoed with a
    /// scope; when off, ECS is ignored and never echoed.
    pub edns_client_subnet: bool,
    /// What LUA records consult: health checks and GeoIP.
    pub lua: LuaViews,
    /// Reply templates kept per UDP worker and per TCP runtime thread; 0
    /// disables them.
    pub answer_templates: usize,
    /// Replication's answers to NOTIFY, IXFR over UDP and TSIG keys; with
    /// none, NOTIFY and transfers are refused and signed requests fail
    /// with BADKEY.
    pub control: Option<ControlHandle>,
    /// DNS Cookies (RFC 7873, RFC 9018); `None` ignores COOKIE options.
    pub cookies: Option<Arc<cookies::Cookies>>,
}

/// The health checker and GeoIP as LUA records see them, and the cache of
/// their results.
#[derive(Clone)]
pub struct LuaViews {
    pub health: Arc<dyn HealthView + Send + Sync>,
    pub geo: Arc<dyn GeoView + Send + Sync>,
    /// Results of cacheable LUA records per (rule, client, name), dropped
    /// when the health or GeoIP generation moves; `None` disables it.
    pub cache: Option<Arc<LuaCache>>,
}

impl Default for LuaViews {
    /// Every target up, no GeoIP database.
    fn default() -> Self {
        LuaViews {
            health: Arc::new(AllUp),
            geo: Arc::new(NoGeo),
            cache: None,
        }
    }
}

impl std::fmt::Debug for LuaViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LuaViews { .. }")
    }
}

impl Default for AnswerConfig {
    fn default() -> Self {
        AnswerConfig {
            edns_payload: 1232,
            any_udp: AnyUdp::Minimal,
            chaos_version: None,
            chaos_id: None,
            nsid: None,
            signer: Arc::new(Signer::new(DEFAULT_SIGNATURE_CACHE_BYTES)),
            edns_client_subnet: true,
            lua: LuaViews::default(),
            answer_templates: templates::DEFAULT_SLOTS,
            control: None,
            cookies: None,
        }
    }
}

/// Default memory budget of the signature cache.
pub const DEFAULT_SIGNATURE_CACHE_BYTES: usize = 64 << 20;

/// Seconds since the Unix epoch, for signature windows.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Per-worker answering state: the pipeline, counters and reply
/// templates.
pub struct Responder {
    pipeline: Pipeline,
    stats: Option<Arc<WorkerStats>>,
    templates: TemplateStore,
    /// Replies this responder replayed from templates.
    replayed: u64,
    /// Of those, the ones already added to `stats`.
    published_replayed: u64,
}

/// The configuration and scratch space the pipeline runs with.
struct Pipeline {
    config: AnswerConfig,
    signatures: ReplySignatures,
    assembler: Assembler,
    /// The last query returned a valid server cookie (RFC 7873): its
    /// source address is proven, so rate limiting lets it through.
    cookie_valid: bool,
}

/// Where a responder's reply templates live.
enum TemplateStore {
    None,
    /// A UDP worker's own arena.
    Owned(Box<Templates>),
    /// The arena of the thread the responder runs on, shared by every TCP
    /// connection that thread serves: one connection rarely repeats a
    /// question, all of them together do. Tasks may move between runtime
    /// threads; each answer uses the arena of the thread it runs on.
    PerThread,
}

thread_local! {
    /// See [`TemplateStore::PerThread`]; allocated on the thread's first
    /// TCP query.
    static THREAD_TEMPLATES: RefCell<Option<Box<Templates>>> = const { RefCell::new(None) };
}

impl Responder {
    /// A responder with its own scratch space.
    pub fn new(config: AnswerConfig) -> Responder {
        Responder {
            pipeline: Pipeline {
                config,
                signatures: ReplySignatures::default(),
                assembler: Assembler::default(),
                cookie_valid: false,
            },
            stats: None,
            templates: TemplateStore::None,
            replayed: 0,
            published_replayed: 0,
        }
    }

    /// Keeps reply templates of its own (as many as the configuration
    /// says): for a UDP worker, which answers on one thread forever.
    pub fn with_templates(mut self) -> Responder {
        let slots = self.pipeline.config.answer_templates;
        self.templates = if slots > 0 {
            TemplateStore::Owned(Box::new(Templates::new(slots)))
        } else {
            TemplateStore::None
        };
        self
    }

    /// Uses the templates of the thread it answers on, shared with the
    /// other responders there: for TCP connections, which are many, short
    /// and would not repay an arena each. Every responder that shares a
    /// thread's templates must have the same configuration (a server has
    /// one); the catalog may differ, templates follow its generation.
    pub fn with_thread_templates(mut self) -> Responder {
        if self.pipeline.config.answer_templates > 0 {
            self.templates = TemplateStore::PerThread;
        }
        self
    }

    /// A responder that counts what it answers into `stats`.
    pub fn with_stats(config: AnswerConfig, stats: Arc<WorkerStats>) -> Responder {
        Responder {
            stats: Some(stats),
            ..Responder::new(config)
        }
    }

    /// Hints that `packet` will be answered soon (see
    /// [`Templates::prefetch`]); UDP workers call it for a whole batch first.
    pub fn prefetch(&self, packet: &[u8]) {
        if let TemplateStore::Owned(templates) = &self.templates {
            templates.prefetch(packet);
        }
    }

    /// Replies this responder replayed from templates so far.
    pub fn template_hits(&self) -> u64 {
        self.replayed
    }

    /// The configuration in use.
    pub fn config(&self) -> &AnswerConfig {
        &self.pipeline.config
    }

    /// Writes the reply to `packet`, received from `peer`, into `out`.
    /// Returns false when the packet must not be answered at all.
    pub fn answer(
        &mut self,
        packet: &[u8],
        catalog: &Catalog,
        transport: Transport,
        peer: IpAddr,
        out: &mut Vec<u8>,
    ) -> bool {
        let answered = self.answer_packet(packet, catalog, transport, peer, out);
        if let (Some(stats), Some((qtype, rcode))) = (&self.stats, answered) {
            stats.record(qtype, rcode);
        }
        answered.is_some()
    }

    /// Whether the query just answered carried a valid server cookie, which
    /// proves its source address (response-rate limiting exempts it).
    pub fn client_proved_address(&self) -> bool {
        self.pipeline.cookie_valid
    }

    /// Closes a batch of answers for the counters: the time since
    /// `started`, spent answering `answered` queries, goes to the latency
    /// histogram (transports decide what a batch is), and the replies
    /// replayed since the last batch are published.
    pub fn finish_batch(&mut self, started: Instant, answered: usize) {
        let Some(stats) = &self.stats else {
            return;
        };
        stats.record_time(started.elapsed().as_nanos() as u64, answered as u64);
        stats.record_replayed(self.replayed - self.published_replayed);
        self.published_replayed = self.replayed;
    }

    /// Returns the query type and RCODE of the reply written; `None` for a drop.
    fn answer_packet(
        &mut self,
        packet: &[u8],
        catalog: &Catalog,
        transport: Transport,
        peer: IpAddr,
        out: &mut Vec<u8>,
    ) -> Option<(RType, Rcode)> {
        self.pipeline.cookie_valid = false;
        let request = match parse_request(packet) {
            Parsed::Drop => return None,
            Parsed::FormErr {
                id,
                flags,
                question_end,
                edns,
                ..
            } => {
                let question = question_end.map_or(&[][..], |end| &packet[12..end]);
                return Some(
                    self.pipeline
                        .form_error(id, flags, question, edns, transport, out),
                );
            }
            Parsed::Request(request) => request,
        };
        if request.signed {
            return Some(
                self.pipeline
                    .answer_signed(&request, catalog, transport, peer, out),
            );
        }
        let pipeline = &mut self.pipeline;
        let (answer, replayed) = match &mut self.templates {
            TemplateStore::None => pipeline.answer_request(
                &request,
                catalog,
                Client::unsigned(transport, peer),
                None,
                out,
            ),
            TemplateStore::Owned(templates) => pipeline.answer_request(
                &request,
                catalog,
                Client::unsigned(transport, peer),
                Some(templates),
                out,
            ),
            TemplateStore::PerThread => THREAD_TEMPLATES.with_borrow_mut(|templates| {
                let slots = pipeline.config.answer_templates;
                let templates = templates.get_or_insert_with(|| Box::new(Templates::new(slots)));
                pipeline.answer_request(
                    &request,
                    catalog,
                    Client::unsigned(transport, peer),
                    Some(templates),
                    out,
                )
            }),
        };
        self.replayed += u64::from(replayed);
        Some(answer)
    }
}

/// NOTIFY and IXFR over UDP: what replication says. Rare, so kept out of
/// the query path's code.
#[cold]
#[inline(never)]
fn control_verdict<'z>(
    verdict: &Verdict<'_>,
    control: Option<&dyn control::Control>,
    catalog: &'z Catalog,
    qname: &[u8],
    peer: IpAddr,
    key: Option<&Name>,
    outcome: &mut Outcome<'z>,
) {
    match verdict {
        Verdict::Notify(_) => {
            outcome.rcode = control.map_or(Rcode::REFUSED, |c| c.notify(qname, peer, key));
            outcome.aa = outcome.rcode == Rcode::NOERROR;
        }
        Verdict::IxfrUdp(_) => {
            if control.is_some_and(|c| c.may_transfer(qname, peer, key)) {
                // The current SOA alone: the client asks again over TCP
                // (RFC 1995 §2); at a name that is no apex, NOTAUTH.
                let lua = LuaQuery::plain(peer);
                lookup::resolve(
                    catalog,
                    qname,
                    RType::SOA,
                    AnyUdp::Minimal,
                    false,
                    &lua,
                    outcome,
                );
                if !outcome.aa || outcome.answer.is_empty() {
                    *outcome = Outcome {
                        rcode: Rcode::NOTAUTH,
                        ..Outcome::default()
                    };
                }
            } else {
                outcome.rcode = Rcode::REFUSED;
            }
        }
        _ => {}
    }
}

/// Who sent a request, how, and the TSIG key it was verified with (and
/// the room the reply's TSIG RR needs): what the stages that decide by
/// the sender (NOTIFY, IXFR over UDP, LUA) and the size limit need.
#[derive(Clone, Copy)]
struct Client<'k> {
    transport: Transport,
    peer: IpAddr,
    tsig: Option<(&'k Name, usize)>,
}

impl Client<'_> {
    fn unsigned(transport: Transport, peer: IpAddr) -> Client<'static> {
        Client {
            transport,
            peer,
            tsig: None,
        }
    }
}

/// The reply's header facts and size limit for this query and transport.
fn reply_head<'q>(
    config: &'q AnswerConfig,
    id: u16,
    query_flags: Flags,
    question: &'q [u8],
    edns: Option<&crate::parse::Edns>,
    transport: Transport,
) -> ReplyHead<'q> {
    let limit = reply_limit(config, edns, transport);
    ReplyHead {
        id,
        query_flags,
        question,
        edns: edns.map(|edns| {
            // A server does not act on the options of an EDNS version it does
            // not implement: BADVERS carries a clean OPT (RFC 8906 §8.2.5-6).
            let acts_on_options = edns.version == 0;
            ReplyEdns {
                payload: config.edns_payload,
                dnssec_ok: edns.dnssec_ok(),
                nsid: config
                    .nsid
                    .as_deref()
                    .filter(|_| edns.nsid && acts_on_options),
                client_subnet: edns
                    .client_subnet
                    .filter(|_| config.edns_client_subnet && acts_on_options),
                cookie: None,
            }
        }),
        limit,
        over_tcp: transport == Transport::Tcp,
    }
}

/// The largest reply this client takes over this transport.
fn reply_limit(
    config: &AnswerConfig,
    edns: Option<&crate::parse::Edns>,
    transport: Transport,
) -> usize {
    match (transport, edns) {
        (Transport::Tcp, _) => 65535,
        // RFC 6891 §6.2.3/§6.2.5: below 512 counts as 512; never above ours.
        (Transport::Udp, Some(edns)) => usize::from(edns.payload.max(512).min(config.edns_payload)),
        (Transport::Udp, None) => 512,
    }
}

impl Pipeline {
    /// FORMERR for a message whose question or OPT could not be read.
    fn form_error(
        &mut self,
        id: u16,
        flags: Flags,
        question: &[u8],
        edns: Option<crate::parse::Edns>,
        transport: Transport,
        out: &mut Vec<u8>,
    ) -> (RType, Rcode) {
        let head = reply_head(&self.config, id, flags, question, edns.as_ref(), transport);
        let outcome = Outcome {
            rcode: Rcode::FORMERR,
            ..Outcome::default()
        };
        self.signatures.clear();
        self.assembler
            .write(&head, &outcome, &self.signatures, &[], out);
        (RType(0), Rcode::FORMERR)
    }

    /// A TSIG-signed request: verified first (RFC 8945 §5.2), answered
    /// without templates (a kept reply is unsigned), the reply signed with
    /// the request's key. Rare, so kept out of the query path's code.
    #[cold]
    #[inline(never)]
    fn answer_signed(
        &mut self,
        request: &Request<'_>,
        catalog: &Catalog,
        transport: Transport,
        peer: IpAddr,
        out: &mut Vec<u8>,
    ) -> (RType, Rcode) {
        use crate::wire::tsig::{ResponseSigner, Verified, verify_request};
        let qtype = request.question.as_ref().map_or(RType(0), |q| q.qtype);
        let now = unix_now();
        let no_keys = crate::wire::tsig::Keyring::default();
        let keys = self
            .config
            .control
            .as_ref()
            .map_or(&no_keys, |c| c.0.keys());
        let question = &request.packet[12..request.question_end];
        match verify_request(request.packet, keys, now) {
            Verified::Valid(signature) => {
                let stripped = control::strip_tsig(request.packet, signature.unsigned_len);
                let Parsed::Request(inner) = parse_request(&stripped) else {
                    return self.form_error(
                        request.id,
                        request.flags,
                        question,
                        None,
                        transport,
                        out,
                    );
                };
                let key = Some((
                    &signature.key.name,
                    control::tsig_reserve(&signature.key.name),
                ));
                let ((qtype, rcode), _) = self.answer_request(
                    &inner,
                    catalog,
                    Client {
                        transport,
                        peer,
                        tsig: key,
                    },
                    None,
                    out,
                );
                ResponseSigner::new(&signature).sign(out, now);
                (qtype, rcode)
            }
            Verified::Failed(failure) => {
                // NOTAUTH, the question echoed, and the TSIG error RR.
                let head = reply_head(
                    &self.config,
                    request.id,
                    request.flags,
                    question,
                    None,
                    transport,
                );
                let outcome = Outcome {
                    rcode: Rcode::NOTAUTH,
                    ..Outcome::default()
                };
                self.signatures.clear();
                self.assembler
                    .write(&head, &outcome, &self.signatures, &[], out);
                failure.append_to(out, now);
                (qtype, Rcode::NOTAUTH)
            }
            Verified::Malformed | Verified::Unsigned => {
                self.form_error(request.id, request.flags, question, None, transport, out)
            }
        }
    }

    /// Runs the stages after parsing for `request`: checks, template
    /// probe, lookup (with the dynamic stage at LUA names), denial,
    /// signing, assembly, and keeping the reply as a template.
    /// Returns the query type, the RCODE, and whether it was replayed.
    fn answer_request(
        &mut self,
        request: &Request<'_>,
        catalog: &Catalog,
        client: Client<'_>,
        mut templates: Option<&mut Templates>,
        out: &mut Vec<u8>,
    ) -> ((RType, Rcode), bool) {
        let Client {
            transport,
            peer,
            tsig,
        } = client;
        let qtype = request.question.as_ref().map_or(RType(0), |q| q.qtype);
        let qname = request
            .question
            .as_ref()
            .map_or(&[0u8][..], |q| q.lower_name());

        // Checks: what is decided before any zone is consulted.
        let verdict = checks::check(request, transport, &self.config);

        // Template probe: a repeated question is answered from the kept reply.
        let template = match (&mut templates, &verdict) {
            (Some(templates), Verdict::Lookup(_)) => {
                Variant::of(request, self.config.edns_client_subnet, transport).map(|variant| {
                    templates.follow(catalog.generation());
                    let key = Key {
                        qname,
                        qtype,
                        variant,
                    };
                    (templates.probe(&key), key)
                })
            }
            _ => None,
        };
        if let (Some(templates), Some((probe, key))) = (&mut templates, &template) {
            let limit = reply_limit(&self.config, request.edns.as_ref(), transport);
            if let Some(rcode) = templates.replay(probe, key, request, limit, unix_now, out) {
                return ((qtype, rcode), true);
            }
        }

        let question = &request.packet[12..request.question_end];
        let head = reply_head(
            &self.config,
            request.id,
            request.flags,
            question,
            request.edns.as_ref(),
            transport,
        );
        let mut head = head;
        if let Some((_, reserve)) = tsig {
            // Room for the TSIG RR that will sign the reply.
            head.limit -= reserve.min(head.limit - 512);
        }
        let mut outcome = Outcome::default();
        if let Some(edns) = &request.edns {
            outcome.dnssec_ok = edns.dnssec_ok();
            outcome.compact_ok = edns.flags.contains(EdnsFlags::CO);
        }
        // Cookies: the reply's COOKIE option, and BADCOOKIE for a UDP client
        // that must prove its address first.
        let verdict = match (
            &self.config.cookies,
            request.edns.as_ref(),
            head.edns.as_mut(),
        ) {
            (Some(cookies), Some(edns), Some(reply_edns)) if edns.version == 0 => {
                match &edns.cookie {
                    Some(cookie) => {
                        let checked = cookies.check(cookie, peer, unix_now() as u32);
                        reply_edns.cookie = Some(checked.reply);
                        self.cookie_valid = checked.valid;
                        if cookies.require && !checked.valid && transport == Transport::Udp {
                            Verdict::Refuse(Rcode::BADCOOKIE)
                        } else {
                            verdict
                        }
                    }
                    None => verdict,
                }
            }
            _ => verdict,
        };
        match verdict {
            // Lookup, which hands names owning LUA records to the dynamic
            // stage (`dynamic::records`): a LUA CNAME continues the walk.
            Verdict::Lookup(q) => {
                let lua = LuaQuery {
                    client: peer,
                    ecs: head
                        .edns
                        .as_ref()
                        .and_then(|edns| edns.client_subnet)
                        .map(|ecs| Ecs {
                            addr: ecs.address,
                            source_prefix: ecs.source_prefix,
                        }),
                    health: &*self.config.lua.health,
                    geo: &*self.config.lua.geo,
                    cache: self.config.lua.cache.as_deref(),
                    zones: Some(catalog),
                    request: RequestFacts {
                        id: request.id,
                        flags: request.flags.0,
                        tcp: transport == Transport::Tcp,
                        dnssec_ok: request.edns.as_ref().is_some_and(|e| e.dnssec_ok()),
                        edns_size: request.edns.as_ref().map_or(0, |e| e.payload),
                    },
                };
                lookup::resolve(
                    catalog,
                    qname,
                    q.qtype,
                    self.config.any_udp,
                    transport == Transport::Tcp,
                    &lua,
                    &mut outcome,
                );
            }
            Verdict::Chaos(q) => checks::chaos(&self.config, q, &mut outcome),
            Verdict::Notify(_) | Verdict::IxfrUdp(_) => control_verdict(
                &verdict,
                self.config.control.as_ref().map(|c| &*c.0),
                catalog,
                qname,
                peer,
                tsig.map(|(name, _)| name),
                &mut outcome,
            ),
            Verdict::Refuse(rcode) => outcome.rcode = rcode,
        }

        // Denial: the NSEC a negative signed answer owes (a proof is owed
        // only with DO=1, so only then is the clock read).
        let signed_at = outcome.dnssec_ok.then(unix_now);
        if let Some(now) = signed_at {
            dnssec::prove(&mut outcome, qname, &self.config.signer, now);
        }

        // Signing: RRSIGs for every RRset of a signed zone, when DO=1. A
        // signature that cannot be made fails the reply, never sends it unsigned.
        let mut signing_failed = false;
        self.signatures.clear();
        if let Some(now) = signed_at
            && let Err(err) = self
                .signatures
                .sign(&outcome, qname, &self.config.signer, now)
        {
            tracing::warn!(%err, "could not sign an RRset; answering SERVFAIL");
            self.signatures.clear();
            outcome.servfail();
            signing_failed = true;
        }

        // Assembly: the reply's bytes, compressed and truncated to fit.
        let complete = self
            .assembler
            .write(&head, &outcome, &self.signatures, qname, out);
        // The assembler may turn an overflowing TCP reply into SERVFAIL.
        let rcode = if outcome.rcode.is_extended() {
            outcome.rcode
        } else {
            Rcode(u16::from(out[3] & 0x0F))
        };

        // Keep template: offer a complete, static reply for replay.
        if let (Some(templates), Some((probe, key))) = (&mut templates, &template)
            && complete
            && !signing_failed
            && !outcome.consulted_lua
        {
            templates.keep(probe, key, rcode, signed_at, out);
        }
        ((qtype, rcode), false)
    }
}

#[cfg(test)]
mod replay_tests;
#[cfg(test)]
pub(crate) mod tests;
