# cubic.cc - CUBIC (RFC 9438) in the safebpf congestion-control DSL, in
# integer arithmetic: C = 0.4, beta = 0.7, fast convergence, the
# Reno-friendly region, growth only while the window limits sending and
# capped at half a packet per ACK as Linux does, slow start left by
# HyStart's ACK-train and delay rules. Windows in packets, times in
# microseconds; K is kept in milliseconds.
algorithm sbpf_cubic

state wnd = 10
state ssthresh = 0x7fffffff
state wmax = 0             # window before the last reduction
state epoch = 0            # start of this congestion-avoidance epoch (us), 0: none
state origin = 0           # the curve's plateau (packets)
state k = 0                # time to reach the plateau (ms)
state acc = 0              # growth credit (1/100 packet-ACKs)
state inc = 0              # packets added on this ACK
state west = 0             # Reno-friendly estimate, in 1/1000 packets
state target = 0
state round_start = 0      # HyStart: start of this round trip (us)
state last_ack = 0         # HyStart: last ACK of the current ACK train
state was_recovery = 0     # the previous ACK was in fast recovery
state was_timeout = 0      # the previous ACK was in the Loss state

when timeout && !was_timeout {
    wmax = wnd
    ssthresh = max(wnd * 7 / 10, 2)
    wnd = 1
    epoch = 0
} else when recovery && !was_recovery {
    # fast convergence: release bandwidth when the plateau shrinks
    when wnd < wmax {
        wmax = wnd * 17 / 20
    } else {
        wmax = wnd
    }
    wnd = max(wnd * 7 / 10, 2)
    ssthresh = wnd
    epoch = 0
} else when recovery == 0 && cwnd_limited && wnd < ssthresh {
    wnd = min(wnd + acked, ssthresh)
    # HyStart, from 16 packets on. ACK train: the ACKs of this round trip,
    # each within 2 ms of the last, already span half the minimum RTT.
    # Delay: the RTT grew by max(min RTT / 8, 4 ms): the queue is filling.
    when now - round_start > srtt {
        round_start = now
        last_ack = now
    }
    when now - last_ack <= 2000 {
        last_ack = now
        when wnd >= 16 && now - round_start > min_rtt / 2 {
            ssthresh = wnd
        }
    }
    when wnd >= 16 && rtt > min_rtt + max(min_rtt / 8, 4000) {
        ssthresh = wnd
    }
} else when recovery == 0 && cwnd_limited {
    when epoch == 0 {
        epoch = now
        acc = 0
        west = wnd * 1000
        when wnd < wmax {
            # K = cbrt(wmax * (1 - beta) / C) seconds = cbrt((wmax - wnd) * 2.5e9) ms
            k = cbrt((wmax - wnd) * 2500000000)
            origin = wmax
        } else {
            k = 0
            origin = wnd
        }
    }
    # t in ms, one minimum RTT ahead; target = origin +- C * |t - K|^3
    when (now - epoch + min_rtt) / 1000 >= k {
        target = origin + 4 * ((now - epoch + min_rtt) / 1000 - k) * ((now - epoch + min_rtt) / 1000 - k) * ((now - epoch + min_rtt) / 1000 - k) / 10000000000
    } else {
        target = origin - min(origin - 1, 4 * (k - (now - epoch + min_rtt) / 1000) * (k - (now - epoch + min_rtt) / 1000) * (k - (now - epoch + min_rtt) / 1000) / 10000000000)
    }
    # Reno-friendly region: alpha = 3 (1 - beta) / (1 + beta) = 0.529 per window
    west = west + acked * 529 / wnd
    target = max(target, west / 1000)
    # growth credit in 1/100 packet-ACKs: (target - wnd) / wnd packets per ACK
    # (at most half a packet), or one packet per 100 windows at the plateau
    when target > wnd {
        acc = acc + acked * 100 * min(target - wnd, wnd / 2)
    } else {
        acc = acc + acked
    }
    inc = acc / (100 * wnd)
    acc = acc - inc * 100 * wnd
    wnd = wnd + inc
}

fold {
    was_recovery = recovery
    was_timeout = timeout
}

when 1 {
    set cwnd = wnd
}
