/* placeholder */ typedef int le_placeholder_playlist_t;
