/* placeholder */ typedef int le_placeholder_segmenter_t;
