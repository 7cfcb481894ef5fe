/* placeholder */ typedef int le_placeholder_flv_play_t;
