/* control.c - placeholder until the admin commands land (helper owns this file). */
#include "xca_plugin.h"

int xca_control_cb(int event, void *event_data, void *userdata)
{
  (void)event;
  (void)event_data;
  (void)userdata;
  return MOSQ_ERR_SUCCESS;
}
