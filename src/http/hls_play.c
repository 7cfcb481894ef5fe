/* placeholder */ typedef int le_placeholder_hls_play_t;
