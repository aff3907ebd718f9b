SELECT pid FROM system_calls
WHERE
  pid = = 1