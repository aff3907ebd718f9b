# reno.cc - TCP Reno (RFC 5681) in the safebpf congestion-control DSL:
# slow start, congestion avoidance (one packet per window of ACKs), growth
# only while the window limits sending (as Linux does), halve
# the window once per loss episode (on entering fast recovery), restart
# from one packet after a retransmission timeout.
algorithm sbpf_reno

state wnd = 10             # congestion window in packets
state ssthresh = 0x7fffffff
state acc = 0              # ACKed packets counted toward the next +1
state was_recovery = 0     # the previous ACK was in fast recovery
state was_timeout = 0      # the previous ACK was in the Loss state

when timeout && !was_timeout {
    ssthresh = max(wnd / 2, 2)
    wnd = 1
    acc = 0
} else when recovery && !was_recovery {
    ssthresh = max(wnd / 2, 2)
    wnd = ssthresh
    acc = 0
} else when recovery == 0 && cwnd_limited {
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

fold {
    was_recovery = recovery
    was_timeout = timeout
}

when 1 {
    set cwnd = wnd
}
