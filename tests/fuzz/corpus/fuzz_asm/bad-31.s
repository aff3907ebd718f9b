ja end
exit
end: