package archive

// Telnet bytes (RFC 854). The ADE console is reached with `telnet
// localhost 1409`; it may open with option negotiation, which we refuse:
// the console is plain line-oriented text and we want none of echo,
// terminal type or window size.
const (
	tnIAC  = 255
	tnDONT = 254
	tnDO   = 253
	tnWONT = 252
	tnWILL = 251
	tnSB   = 250
	tnSE   = 240
)

// telnetFilter removes telnet commands from a byte stream and collects the
// refusals to send back. It keeps state between calls because a command
// can be split across two reads.
type telnetFilter struct {
	state    int
	verb     byte
	answered map[[2]byte]bool
}

const (
	tnData = iota
	tnCommand
	tnOption
	tnSub
	tnSubIAC
)

// feed returns the data bytes of in and the negotiation replies owed.
func (f *telnetFilter) feed(in []byte) (data, reply []byte) {
	data = make([]byte, 0, len(in))
	for _, b := range in {
		switch f.state {
		case tnData:
			if b == tnIAC {
				f.state = tnCommand
			} else {
				data = append(data, b)
			}
		case tnCommand:
			switch {
			case b == tnIAC: // escaped 255 is data
				data = append(data, b)
				f.state = tnData
			case b >= tnWILL && b <= tnDONT:
				f.verb, f.state = b, tnOption
			case b == tnSB:
				f.state = tnSub
			default: // NOP, GA, AYT, ...: nothing to do
				f.state = tnData
			}
		case tnOption:
			reply = append(reply, f.refuse(f.verb, b)...)
			f.state = tnData
		case tnSub:
			if b == tnIAC {
				f.state = tnSubIAC
			}
		case tnSubIAC:
			if b == tnSE {
				f.state = tnData
			} else {
				f.state = tnSub
			}
		}
	}
	return data, reply
}

// refuse answers DO with WONT and WILL with DONT, once per option, so a
// server repeating itself cannot make us loop (RFC 854: do not answer a
// request for a mode already in effect).
func (f *telnetFilter) refuse(verb, opt byte) []byte {
	var answer byte
	switch verb {
	case tnDO:
		answer = tnWONT
	case tnWILL:
		answer = tnDONT
	default: // DONT and WONT ask for what we already do
		return nil
	}
	if f.answered == nil {
		f.answered = map[[2]byte]bool{}
	}
	key := [2]byte{verb, opt}
	if f.answered[key] {
		return nil
	}
	f.answered[key] = true
	return []byte{tnIAC, answer, opt}
}
