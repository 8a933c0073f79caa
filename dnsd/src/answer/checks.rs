//! The checks stage: what is decided about a query before any zone is
//! consulted — the EDNS version, a malformed ECS option, the opcode, the
//! class and the meta-types — and the CHAOS-class identity answers, which
//! come from configuration rather than zones.

use super::AnswerConfig;
use crate::outcome::{Data, Outcome, Owner, Section};
use crate::parse::{Question, Request, Transport};
use crate::wire::{Class, Opcode, RType, Rcode};

/// What the checks decided.
pub enum Verdict<'r> {
    /// A class IN question for the zones: look it up.
    Lookup(&'r Question),
    /// A CHAOS-class question (RFC 4892), answered from configuration.
    Chaos(&'r Question),
    /// A NOTIFY (RFC 1996) for a zone: replication decides.
    Notify(&'r Question),
    /// An IXFR over UDP: the current SOA when allowed (RFC 1995 §2).
    IxfrUdp(&'r Question),
    /// Answered with this RCODE and no records.
    Refuse(Rcode),
}

/// Decides what becomes of `request` before any lookup.
pub fn check<'r>(
    request: &'r Request<'_>,
    transport: Transport,
    config: &AnswerConfig,
) -> Verdict<'r> {
    if let Some(edns) = &request.edns {
        if edns.version > 0 {
            // RFC 6891 §6.1.3: BADVERS, AA=0, no records.
            return Verdict::Refuse(Rcode::BADVERS);
        }
        if config.edns_client_subnet && edns.client_subnet_malformed {
            // RFC 7871 §6; with ECS processing off the option is not read.
            return Verdict::Refuse(Rcode::FORMERR);
        }
    }
    if request.opcode == Opcode::NOTIFY {
        return match &request.question {
            Some(q) if q.qclass == Class::IN && q.qtype == RType::SOA => Verdict::Notify(q),
            // RFC 1996 §3.7 defines QTYPE SOA only.
            _ => Verdict::Refuse(Rcode::REFUSED),
        };
    }
    if request.opcode != Opcode::QUERY {
        return Verdict::Refuse(Rcode::NOTIMP);
    }
    let Some(question) = &request.question else {
        // A header-only QUERY is FORMERR at parse time; nothing to answer.
        return Verdict::Refuse(Rcode::NOERROR);
    };
    match question.qclass {
        Class::IN => match question.qtype {
            RType::AXFR if transport == Transport::Udp => Verdict::Refuse(Rcode::NOTIMP),
            RType::IXFR if transport == Transport::Udp => Verdict::IxfrUdp(question),
            // Transfers over TCP go to `xfr` before the pipeline; one that
            // reaches it is from a server that offers none.
            RType::AXFR | RType::IXFR => Verdict::Refuse(Rcode::REFUSED),
            // Meta types that cannot be asked for (RFC 6895 §3.1).
            // NXNAME only ever appears in NSEC bitmaps (RFC 9824 §3.5).
            RType::OPT | RType::TSIG | RType::TKEY | RType::NXNAME => {
                Verdict::Refuse(Rcode::FORMERR)
            }
            RType::MAILA | RType::MAILB => Verdict::Refuse(Rcode::NOTIMP),
            _ => Verdict::Lookup(question),
        },
        Class::CH => Verdict::Chaos(question),
        _ => Verdict::Refuse(Rcode::REFUSED),
    }
}

/// CHAOS-class server identity (RFC 4892), answered only when configured.
pub fn chaos<'z>(config: &'z AnswerConfig, question: &Question, out: &mut Outcome<'z>) {
    out.class = Class::CH;
    let rdata = match question.lower_name() {
        b"\x07version\x04bind\x00" | b"\x07version\x06server\x00" => {
            config.chaos_version.as_deref()
        }
        b"\x08hostname\x04bind\x00" | b"\x02id\x06server\x00" => config.chaos_id.as_deref(),
        _ => None,
    };
    let Some(rdata) = rdata else {
        out.rcode = Rcode::REFUSED;
        return;
    };
    out.aa = true;
    if question.qtype == RType::TXT || question.qtype == RType::ANY {
        out.push(
            Section::Answer,
            Owner::Qname,
            Data::Single(RType::TXT, rdata),
            0,
        );
    }
}
