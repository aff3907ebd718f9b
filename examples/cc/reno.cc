# reno.cc - TCP Reno (RFC 5681) in the safebpf congestion-control DSL:
# slow start, congestion avoidance (one packet per window of ACKs), halve
# the window once per round trip on loss, restart from one packet after a
# retransmission timeout.
algorithm sbpf_reno

state wnd = 10             # congestion window in packets
state ssthresh = 0x7fffffff
state acc = 0              # ACKed packets counted toward the next +1
state recover_until = 0    # no new reduction before this time (us)

when timeout {
    ssthresh = max(wnd / 2, 2)
    wnd = 1
    acc = 0
    recover_until = now + srtt
} else when loss > 0 && now >= recover_until {
    ssthresh = max(wnd / 2, 2)
    wnd = ssthresh
    acc = 0
    recover_until = now + srtt
} else when recovery == 0 {
    when wnd < ssthresh {
        wnd = min(wnd + acked, ssthresh)
    } else {
        acc = acc + acked
        when acc >= wnd {
            acc = acc - wnd
            wnd = wnd + 1
        }
    }
}

when 1 {
    set cwnd = wnd
}
