//! dnsd as a primary: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP.
//!
//! The TCP transport hands a transfer request here instead of to the
//! query pipeline. The request is checked (TSIG first, then the ACL, then
//! the zone), then the zone is sent from one snapshot: the catalog the
//! request arrived under holds every zone immutable, so a change made
//! meanwhile never tears a transfer. Messages are built one at a time and
//! written as they are made; a client that stops reading for the transfer
//! timeout is dropped.

use std::net::IpAddr;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tracing::{info, warn};

use super::message::MessageWriter;
use super::replicator::Replicator;
use super::stats::Event;
use crate::parse::{Parsed, Request, parse_request};
use crate::wire::tsig::{Failure, RequestSignature, ResponseSigner, Verified, verify_request};
use crate::wire::{Flags, Name, RType, Rcode};
use crate::zone::{Catalog, Record, Served};
use crate::zones::serial::serial_gt;
use crate::zones::serial::unix_now;

/// Whether `message` asks for a zone transfer (QUERY, one question of
/// type AXFR or IXFR): cheap, so the TCP transport can ask it of every
/// message.
pub fn is_transfer_request(message: &[u8]) -> bool {
    if message.len() < 17 || message[2] & 0x80 != 0 || (message[2] >> 3) & 0x0F != 0 {
        return false;
    }
    if u16::from_be_bytes([message[4], message[5]]) != 1 {
        return false;
    }
    let Ok(len) = crate::wire::name::wire_name_len(&message[12..]) else {
        return false;
    };
    match message.get(12 + len..12 + len + 2) {
        Some(qtype) => {
            let qtype = RType(u16::from_be_bytes([qtype[0], qtype[1]]));
            qtype == RType::AXFR || qtype == RType::IXFR
        }
        None => false,
    }
}

/// Largest transfer message; well under 65535 so a TSIG RR always fits.
const MESSAGE_LIMIT: usize = 16 * 1024;

/// What a transfer request was answered with, for logs and counters.
enum Answered {
    Refused(Rcode, &'static str),
    Sent(Event),
}

impl Replicator {
    /// Answers the transfer request `message` from `peer` on `writer`,
    /// from the zones in `catalog`. Errors are the connection's (the
    /// client went away or stalled); the caller closes it.
    pub async fn serve_transfer<W: AsyncWrite + Unpin>(
        &self,
        message: &[u8],
        peer: IpAddr,
        catalog: &Catalog,
        writer: &mut W,
    ) -> std::io::Result<()> {
        let now = unix_now();
        let Parsed::Request(request) = parse_request(message) else {
            // Malformed: the pipeline's FORMERR rules apply; nothing to stream.
            return self
                .write_single(writer, &error_reply(message, Rcode::FORMERR), None, now)
                .await;
        };
        let Some(question) = &request.question else {
            return Ok(());
        };
        let zone_name = Name::from_wire(question.lower_name()).unwrap_or_else(|_| Name::root());
        // TSIG first (RFC 8945 §5.2): a bad signature never reaches the ACL.
        let signature = if request.signed {
            match verify_request(message, &self.settings.keys, now) {
                Verified::Valid(signature) => Some(signature),
                Verified::Failed(failure) => {
                    warn!(zone = %zone_name, %peer, error = failure.error.0, "zone transfer refused: TSIG verification failed");
                    self.stats.count(&zone_name, Event::TransferRefused);
                    return self
                        .write_tsig_failure(writer, &request, &failure, now)
                        .await;
                }
                Verified::Malformed | Verified::Unsigned => {
                    return self
                        .write_single(writer, &error_reply(message, Rcode::FORMERR), None, now)
                        .await;
                }
            }
        } else {
            None
        };
        let result = self
            .transfer(
                &request,
                &zone_name,
                question.qtype,
                peer,
                catalog,
                signature.as_ref(),
                writer,
                now,
            )
            .await;
        match result {
            Ok(Answered::Sent(event)) => {
                self.stats.count(&zone_name, event);
                Ok(())
            }
            Ok(Answered::Refused(rcode, why)) => {
                info!(zone = %zone_name, %peer, rcode = rcode.0, "zone transfer refused: {why}");
                self.stats.count(&zone_name, Event::TransferRefused);
                let reply = error_reply(&message[..request.packet.len()], rcode);
                self.write_single(writer, &reply, signature.as_ref(), now)
                    .await
            }
            Err(err) => {
                warn!(zone = %zone_name, %peer, %err, "zone transfer broke off");
                self.stats.count(&zone_name, Event::TransferOutFailed);
                Err(err)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn transfer<W: AsyncWrite + Unpin>(
        &self,
        request: &Request<'_>,
        zone_name: &Name,
        qtype: RType,
        peer: IpAddr,
        catalog: &Catalog,
        signature: Option<&RequestSignature>,
        writer: &mut W,
        now: u64,
    ) -> std::io::Result<Answered> {
        let key = signature.map(|s| &s.key.name);
        let Some(wants_signed) = self.transfer_acl(zone_name, peer, key) else {
            let why = if key.is_some() {
                "source and key not in allow-transfer"
            } else {
                "source not in allow-transfer (or a TSIG key is required)"
            };
            return Ok(Answered::Refused(Rcode::REFUSED, why));
        };
        let Some(served) = catalog.get_served(zone_name) else {
            return Ok(Answered::Refused(Rcode::NOTAUTH, "not a zone served here"));
        };
        if served.expired {
            return Ok(Answered::Refused(
                Rcode::SERVFAIL,
                "the secondary copy has expired",
            ));
        }
        let client_serial = if qtype == RType::IXFR {
            match request.ixfr_serial() {
                Some(serial) => Some(serial),
                None => {
                    return Ok(Answered::Refused(
                        Rcode::FORMERR,
                        "IXFR without an SOA in authority",
                    ));
                }
            }
        } else {
            None
        };
        let Ok(_slot) = self.transfer_slots.clone().try_acquire_owned() else {
            return Ok(Answered::Refused(
                Rcode::REFUSED,
                "too many transfers at once (--max-transfers)",
            ));
        };
        // The signed zone goes to clients that ask for DNSSEC records
        // (DO=1, dnssec.md §7) and to those configured for it; a dnsd
        // secondary asks with DO=0 and signs itself.
        let dnssec_ok = wants_signed || request.edns.as_ref().is_some_and(|e| e.dnssec_ok());
        let question = (&served.zone.origin, qtype);
        let reserve = signature.map_or(0, |s| crate::answer::control::tsig_reserve(&s.key.name));
        let mut stream = Stream {
            writer,
            signer: signature.map(ResponseSigner::new),
            timeout: self.settings.transfer_timeout,
            now,
            message: MessageWriter::new(request.id, question, MESSAGE_LIMIT, reserve),
        };
        let soa = soa_record(served);
        // IXFR from a serial the history reaches: the differences.
        if let Some(client) = client_serial {
            let current = served.zone.serial;
            if client == current || serial_gt(client, current) {
                stream.push(&soa).await?;
                stream.finish().await?;
                return Ok(Answered::Sent(Event::IxfrOut));
            }
            // The history holds the plain data's differences: a client that
            // takes the zone conventionally signed gets it whole, signed
            // (RFC 1995 §4), since the RRSIGs and NSECs changed too.
            let signed_client = served.keys.is_some() && dnssec_ok;
            if !signed_client
                && let Some(diffs) = self.registry.ixfr_since(zone_name, client)
                && diffs.last().is_some_and(|d| d.new_serial() == current)
            {
                stream.push(&soa).await?;
                for diff in &diffs {
                    stream.push(&diff.old_soa).await?;
                    for record in &diff.deleted {
                        stream.push(record).await?;
                    }
                    stream.push(&diff.new_soa).await?;
                    for record in &diff.added {
                        stream.push(record).await?;
                    }
                }
                stream.push(&soa).await?;
                stream.finish().await?;
                return Ok(Answered::Sent(Event::IxfrOut));
            }
        }
        // AXFR, or IXFR answered in full (RFC 1995 §4): SOA, the rest, SOA.
        if let (Some(keys), true) = (&served.keys, dnssec_ok) {
            let records =
                match crate::dnssec::signed_zone_records(&served.zone, keys, &self.signer, now) {
                    Ok(records) => records,
                    Err(err) => {
                        warn!(zone = %zone_name, %err, "cannot sign the zone for a transfer");
                        return Ok(Answered::Refused(
                            Rcode::SERVFAIL,
                            "the zone could not be signed",
                        ));
                    }
                };
            // The signed list starts with the SOA (and its RRSIGs).
            for record in &records {
                stream.push(record).await?;
            }
        } else {
            // Straight from the snapshot's nodes: no record list, no sort
            // (AXFR needs no order but the SOA first and last).
            stream.push(&soa).await?;
            let apex = served.zone.apex();
            let others = served.zone.nodes().filter(|n| !std::ptr::eq(*n, apex));
            for node in std::iter::once(apex).chain(others) {
                for set in node.rrsets.iter().filter(|s| s.rtype != RType::SOA) {
                    for rdata in &set.rdatas {
                        stream
                            .push_rr(node.name.as_wire(), set.rtype, set.ttl, rdata)
                            .await?;
                    }
                }
            }
        }
        stream.push(&soa).await?;
        stream.finish().await?;
        Ok(Answered::Sent(Event::AxfrOut))
    }

    async fn write_single<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        reply: &[u8],
        signature: Option<&RequestSignature>,
        now: u64,
    ) -> std::io::Result<()> {
        let mut reply = reply.to_vec();
        if let Some(signature) = signature {
            ResponseSigner::new(signature).sign(&mut reply, now);
        }
        write_frame(writer, &reply, self.settings.transfer_timeout).await
    }

    async fn write_tsig_failure<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        request: &Request<'_>,
        failure: &Failure,
        now: u64,
    ) -> std::io::Result<()> {
        let mut reply = error_reply(&request.packet[..failure.unsigned_len], Rcode::NOTAUTH);
        failure.append_to(&mut reply, now);
        write_frame(writer, &reply, self.settings.transfer_timeout).await
    }
}

/// The zone's SOA as a record (every served zone has one).
fn soa_record(served: &Served) -> Record {
    let apex = served.zone.apex();
    let set = apex.rrset(RType::SOA).expect("a served zone has an SOA");
    Record {
        owner: apex.name.clone(),
        rtype: RType::SOA,
        class: 1,
        ttl: set.ttl,
        rdata: set.rdatas[0].into(),
        location: None,
    }
}

/// A reply to `request` (its header and question only) with `rcode`:
/// QR set, opcode kept, no records.
fn error_reply(request: &[u8], rcode: Rcode) -> Vec<u8> {
    let question_end = question_end(request).unwrap_or(12.min(request.len()));
    let mut reply = request[..question_end].to_vec();
    reply.resize(12.max(reply.len()), 0);
    let flags = Flags(u16::from_be_bytes([reply[2], reply[3]]));
    let opcode = flags & Flags::OPCODE;
    let word = Flags::QR.0 | opcode.0 | (rcode.0 & 0x0F);
    reply[2..4].copy_from_slice(&word.to_be_bytes());
    let qdcount: u16 = if question_end > 12 { 1 } else { 0 };
    reply[4..6].copy_from_slice(&qdcount.to_be_bytes());
    reply[6..12].fill(0);
    reply
}

/// End of the one question of `message`, if it is whole.
fn question_end(message: &[u8]) -> Option<usize> {
    let len = crate::wire::name::wire_name_len(message.get(12..)?).ok()?;
    let end = 12 + len + 4;
    (end <= message.len()).then_some(end)
}

/// Writes one length-prefixed message within `timeout`.
async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &[u8],
    timeout: std::time::Duration,
) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(message.len() + 2);
    frame.extend_from_slice(&(message.len() as u16).to_be_bytes());
    frame.extend_from_slice(message);
    match tokio::time::timeout(timeout, writer.write_all(&frame)).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "transfer client stopped reading",
        )),
    }
}

/// The messages of one transfer, signed and written as they fill.
struct Stream<'w, W> {
    writer: &'w mut W,
    signer: Option<ResponseSigner>,
    timeout: std::time::Duration,
    now: u64,
    message: MessageWriter,
}

impl<W: AsyncWrite + Unpin> Stream<'_, W> {
    async fn push(&mut self, record: &Record) -> std::io::Result<()> {
        if let Some(full) = self.message.push(record) {
            self.send(full).await?;
        }
        Ok(())
    }

    async fn push_rr(
        &mut self,
        owner: &[u8],
        rtype: RType,
        ttl: u32,
        rdata: &[u8],
    ) -> std::io::Result<()> {
        if let Some(full) = self.message.push_rr(owner, rtype, 1, ttl, rdata) {
            self.send(full).await?;
        }
        Ok(())
    }

    async fn send(&mut self, mut message: Vec<u8>) -> std::io::Result<()> {
        if let Some(signer) = &mut self.signer {
            signer.sign(&mut message, self.now);
        }
        write_frame(self.writer, &message, self.timeout).await
    }

    async fn finish(mut self) -> std::io::Result<()> {
        if self.message.oversized() > 0 {
            // A record no message can carry (RRsets are capped where they
            // are written, so this is a bug): a transfer without it would
            // be a wrong zone, so the client gets none.
            return Err(std::io::Error::other("a record too large for any message"));
        }
        let last = std::mem::replace(
            &mut self.message,
            MessageWriter::new(0, (&Name::root(), RType::SOA), MESSAGE_LIMIT, 0),
        );
        if let Some(message) = last.finish() {
            self.send(message).await?;
        }
        self.writer.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_requests_are_recognised() {
        let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x07example\x04test\x00");
        let with = |qtype: u16| {
            let mut m = q.clone();
            m.extend_from_slice(&qtype.to_be_bytes());
            m.extend_from_slice(&1u16.to_be_bytes());
            m
        };
        assert!(is_transfer_request(&with(252)));
        assert!(is_transfer_request(&with(251)));
        assert!(!is_transfer_request(&with(6)));
        let mut notify = with(252);
        notify[2] = 4 << 3;
        assert!(!is_transfer_request(&notify), "another opcode");
        let mut reply = with(252);
        reply[2] |= 0x80;
        assert!(!is_transfer_request(&reply), "a response");
        assert!(!is_transfer_request(&with(252)[..20]), "cut short");
    }

    #[test]
    fn error_replies_echo_the_question() {
        let mut q = vec![0xab, 0xcd, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
        q.extend_from_slice(b"\x01a\x00\x00\xfc\x00\x01");
        q.extend_from_slice(&[0; 11]);
        let reply = error_reply(&q, Rcode::REFUSED);
        assert_eq!(&reply[..2], &[0xab, 0xcd]);
        assert_eq!(reply[2] & 0x80, 0x80, "QR");
        assert_eq!(reply[3] & 0x0F, 5, "REFUSED");
        assert_eq!(&reply[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&reply[12..], b"\x01a\x00\x00\xfc\x00\x01");
    }
}
