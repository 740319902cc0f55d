//! The lab DNS server's wire format: one DNS message in, the zone's answer out; the only file of the lab that imports the DNS library (hickory).

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::zone::{Data, QType, Zone, ZoneAnswer};

fn qtype(t: RecordType) -> QType {
    match t {
        RecordType::A => QType::A,
        RecordType::AAAA => QType::Aaaa,
        RecordType::MX => QType::Mx,
        RecordType::TXT => QType::Txt,
        RecordType::CNAME => QType::Cname,
        RecordType::PTR => QType::Ptr,
        RecordType::TLSA => QType::Tlsa,
        other => QType::Other(u16::from(other)),
    }
}

fn absolute(name: &str) -> Option<Name> {
    if name.is_empty() {
        return Some(Name::root());
    }
    Name::from_ascii(format!("{name}.")).ok()
}

fn record(owner: &str, data: &Data) -> Option<Record> {
    let owner = absolute(owner)?;
    let rdata = match data {
        Data::A(ip) => RData::A(A(*ip)),
        Data::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        Data::Mx(preference, exchange) => RData::MX(MX::new(*preference, absolute(exchange)?)),
        Data::Txt(strings) => RData::TXT(TXT::new(strings.clone())),
        Data::Cname(target) => RData::CNAME(CNAME(absolute(target)?)),
        Data::Ptr(target) => RData::PTR(PTR(absolute(target)?)),
        Data::Tlsa(usage, selector, matching, data) => RData::TLSA(TLSA::new(
            (*usage).into(),
            (*selector).into(),
            (*matching).into(),
            data.clone(),
        )),
    };
    Some(Record::from_rdata(owner, 300, rdata))
}

/// The first question of one DNS message in wire format (its name lowercased, without the
/// trailing dot), for the server's query log; `None` for a packet that does not decode.
pub fn question(packet: &[u8]) -> Option<(String, QType)> {
    let request = Message::from_vec(packet).ok()?;
    let query = request.queries.first()?;
    let name = super::zone::normalize_name(&query.name.to_ascii());
    Some((name, qtype(query.query_type)))
}

/// The lab server's reply to one DNS message in wire format: `None` to stay silent
/// (an undecodable packet, or a name the zone never answers).
pub fn respond(zone: &Zone, packet: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(packet).ok()?;
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    let id = request.metadata.id;
    let Some(query) = request.queries.first() else {
        return Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
            .to_vec()
            .ok();
    };
    let mut response = Message::response(id, request.metadata.op_code);
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.add_query(query.clone());
    match zone.answer(&query.name.to_ascii(), qtype(query.query_type)) {
        ZoneAnswer::Drop => return None,
        ZoneAnswer::NxDomain => response.metadata.response_code = ResponseCode::NXDomain,
        ZoneAnswer::ServFail => response.metadata.response_code = ResponseCode::ServFail,
        ZoneAnswer::Refused => response.metadata.response_code = ResponseCode::Refused,
        ZoneAnswer::NoData => {}
        ZoneAnswer::Records(records) => {
            // A validating resolver sets AD only for a client that asks, by AD or DO in
            // its query (RFC 6840 §5.7-5.8; unbound does so): the lab too, so that a
            // client that forgets to ask sees AD clear here as it would in the field.
            let asked = request.metadata.authentic_data
                || request.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
            response.metadata.authentic_data =
                asked && zone.is_authenticated(&query.name.to_ascii());
            for (owner, data) in &records {
                if let Some(r) = record(owner, data) {
                    response.add_answer(r);
                }
            }
        }
    }
    response.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asks as a client that wants AD (AD=1 in the header), as relayscan asks TLSA.
    fn ask(zone: &Zone, name: &str, rtype: RecordType) -> Option<Message> {
        ask_with(zone, name, rtype, |q| q.metadata.authentic_data = true)
    }

    fn ask_with(
        zone: &Zone,
        name: &str,
        rtype: RecordType,
        set: impl FnOnce(&mut Message),
    ) -> Option<Message> {
        let mut q = Message::query();
        q.add_query(hickory_proto::op::Query::query(
            Name::from_ascii(name).unwrap(),
            rtype,
        ));
        set(&mut q);
        let bytes = respond(zone, &q.to_vec().unwrap())?;
        let reply = Message::from_vec(&bytes).unwrap();
        assert_eq!(reply.metadata.id, q.metadata.id);
        Some(reply)
    }

    #[test]
    fn wire_answers_follow_the_zone() {
        let mut zone = Zone::new("lab.test");
        zone.add("lab.test", Data::Mx(0, String::new()))
            .add(
                "t.lab.test",
                Data::Txt(vec!["v=spf1 ip4:192.0.2.0/24 ".into(), "-all".into()]),
            )
            .servfail("bad.lab.test")
            .silent("quiet.lab.test");
        let mx = ask(&zone, "lab.test.", RecordType::MX).unwrap();
        assert_eq!(mx.answers.len(), 1);
        match &mx.answers[0].data {
            RData::MX(m) => assert!(m.exchange.is_root() && m.preference == 0),
            other => panic!("{other:?}"),
        }
        let txt = ask(&zone, "t.lab.test.", RecordType::TXT).unwrap();
        match &txt.answers[0].data {
            RData::TXT(t) => assert_eq!(t.txt_data.len(), 2, "two character-strings"),
            other => panic!("{other:?}"),
        }
        let nx = ask(&zone, "none.lab.test.", RecordType::A).unwrap();
        assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
        let sf = ask(&zone, "bad.lab.test.", RecordType::A).unwrap();
        assert_eq!(sf.metadata.response_code, ResponseCode::ServFail);
        assert!(ask(&zone, "quiet.lab.test.", RecordType::A).is_none());
        let mut signed = Zone::new("lab.test");
        signed
            .add("_25._tcp.mx.lab.test", Data::Tlsa(3, 1, 1, vec![0xab; 32]))
            .add("_25._tcp.mx2.lab.test", Data::Tlsa(2, 0, 2, vec![0xcd; 64]))
            .authenticated("_25._tcp.mx.lab.test");
        let tlsa = ask(&signed, "_25._tcp.mx.lab.test.", RecordType::TLSA).unwrap();
        assert!(tlsa.metadata.authentic_data);
        match &tlsa.answers[0].data {
            RData::TLSA(t) => assert_eq!(
                (
                    u8::from(t.cert_usage),
                    u8::from(t.selector),
                    u8::from(t.matching),
                    t.cert_data.len()
                ),
                (3, 1, 1, 32)
            ),
            other => panic!("{other:?}"),
        }
        // AD only for a client that asked, by AD or by DO (RFC 6840 §5.7-5.8).
        let name = "_25._tcp.mx.lab.test.";
        let unasked = ask_with(&signed, name, RecordType::TLSA, |_| {}).unwrap();
        assert!(!unasked.metadata.authentic_data && unasked.answers.len() == 1);
        let by_do = ask_with(&signed, name, RecordType::TLSA, |q| {
            let mut edns = hickory_proto::op::Edns::new();
            edns.set_dnssec_ok(true);
            q.set_edns(edns);
        })
        .unwrap();
        assert!(by_do.metadata.authentic_data);
        let insecure = ask(&signed, "_25._tcp.mx2.lab.test.", RecordType::TLSA).unwrap();
        assert!(!insecure.metadata.authentic_data && insecure.answers.len() == 1);
        assert!(respond(&zone, b"\x00\x01garbage").is_none());
    }
}
