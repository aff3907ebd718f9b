state x = 0xffffffffffffffff
fold { x = x * 3 + cbrt(x) / (x % 0) << 70 }
when x > 5 && !(x == 2) || min(x, 3) >= max(1, 2) { set cwnd = x
 set rate = x >> 3
 report } else { set cwnd = 0 }
